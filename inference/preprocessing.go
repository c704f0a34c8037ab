package inference

// preprocess turns the manifest's input section into the image code's
// Preprocess. A single mean or std value applies to every channel.
func (in InputManifest) preprocess() Preprocess {
	p := Preprocess{
		Width:  in.Size[0],
		Height: in.Size[1],
		Layout: in.Layout,
		Color:  in.Color,
		Scale:  float32(in.Scale),
		Resize: in.Resize,
	}
	for c := range 3 {
		p.Mean[c] = float32(in.Mean[min(c, len(in.Mean)-1)])
		p.Std[c] = float32(in.Std[min(c, len(in.Std)-1)])
	}
	return p
}
