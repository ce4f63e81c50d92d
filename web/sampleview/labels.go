package sampleview

// The viewer's fixed texts. Captions that change per step come from
// View.Caption and View.Badge. The page, the viewer and the notes call the
// model's estimate of the clean image x̂₀ ("predicted x̂₀" where there is room).
const (
	LabelXT           = "x_t"                                              // above the current samples
	LabelXTNoise      = "x_T (noise)"                                      // above them before the first run: the starting noise
	LabelXTNoiseShort = "x_T"                                              // when it does not fit
	LabelX0           = "predicted x̂₀"                                    // above the predicted x̂₀, when it fits
	LabelX0Short      = "x̂₀"                                              // when it does not
	LegendSignal      = "√alphas_cumprod"                                  // √ᾱ_t, the signal coefficient
	LegendNoise       = "√(1 − alphas_cumprod)"                            // √(1−ᾱ_t), the noise coefficient
	AxisTitle         = "timestep t · ticks: this run's %d sampling steps" // under the plot, between its ends
	AxisTitleShort    = "timestep t"                                       // when the long one does not fit
)
