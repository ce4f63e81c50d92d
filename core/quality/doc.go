// Package quality scores a set of generated images against a folder of
// training images: do the samples resemble the data, and are they as varied?
// Eval loss cannot tell two models apart when one samples rougher images, and
// says nothing about diversity; these three measures can.
//
// Every image is first reduced to a feature vector: its Thumbnail, an 8×8 RGB
// thumbnail (each cell the mean of its source pixels), values in [0, 1], so
// d = 192. The measures work in that space.
//
// KID (kernel inception distance, with thumbnails for Inception features) is
// the unbiased estimate of the squared maximum mean discrepancy between data
// x_1..x_n and samples y_1..y_m under the cubic polynomial kernel:
//
//	k(a, b) = (aᵀb/d + 1)³
//	MMD² = Σ_{i≠j} k(x_i,x_j)/(n(n−1)) + Σ_{i≠j} k(y_i,y_j)/(m(m−1)) − 2 Σ_{i,j} k(x_i,y_j)/(nm)
//
// It is 0 in expectation when both sets come from the same distribution, and
// may then be slightly negative.
//
// Coverage (Naeem et al. 2020, "Reliable fidelity and diversity metrics for
// generative models") is the share of data images that have a sample inside
// their own k-nearest-neighbour ball, k = 5, Euclidean distance:
//
//	r_i = distance from x_i to its k-th nearest other data image
//	coverage = (1/n) Σ_i 1[ min_j ‖x_i − y_j‖ ≤ r_i ]
//
// Samples that all look alike cover only the data near them, however
// realistic they are. With equal numbers of data and samples from the same
// distribution coverage is about 1 − e^{−k} ≈ 0.99; it depends on the two set
// sizes, so Compare always uses equal ones.
//
// Compare gives both with their spread the way KID is usually reported: S =
// 100 subsets, each of m data images and m samples drawn without replacement
// (m = half the smaller set by default; subset s draws from PCG(seed, s)),
// and the mean ± standard deviation of the S subset values. The standard
// deviation is that of one size-m estimate, so it is wider than the
// uncertainty of the mean over all images.
//
// Colour spread is a Hues histogram: every chromatic pixel (chroma
// max(R,G,B) − min(R,G,B) ≥ 0.2, which leaves out the white background,
// greys and near-black) falls into one of 12 hue bins of 30° centred on red
// (0°), orange (30°), yellow (60°) and so on, and TotalVariation,
// ½ Σ_b |p_b − q_b|, is the distance between the samples' and the data's
// histograms (0: the same colours in the same proportions, 1: no colour in
// common).
//
// Thumbnails cannot see texture, so Roughness, the mean absolute Laplacian
// of an image at its own resolution, measures it: speckled samples and
// ragged outlines are rougher than the data.
//
// PairedKID compares two models on the same subsets, so the data images a
// subset draws, which move both KIDs alike, cancel from the difference.
package quality
