package sampleview

// The viewer's fixed texts. Captions that change per step come from
// View.Caption and View.Badge.
const (
	LabelXT      = "x_t"                   // above the current samples
	LabelX0      = "predicted x₀"          // above the predicted x0, when it fits
	LabelX0Short = "x₀"                    // when it does not
	LegendSignal = "√alphas_cumprod"       // √ᾱ_t, the signal coefficient
	LegendNoise  = "√(1 − alphas_cumprod)" // √(1−ᾱ_t), the noise coefficient
)
