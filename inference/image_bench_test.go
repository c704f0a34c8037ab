//go:build unix

package inference

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDecodeResize measures what a prediction spends before the model:
// decoding a JPEG (EXIF orientation included) and making the 224x224 tensor
// and the display copy, as Predict does.
// Besides wall time it reports the process's CPU time per operation, which
// stays meaningful when other work shares the machine. The goal for the
// 12 MP photo is under 150 ms of wall time on 2 cores.
func BenchmarkDecodeResize(b *testing.B) {
	cases := []struct{ name, file string }{
		{"phone_12MP", "clinical_smartphone_lesion_4032x3024_exif6_displayp3.jpeg"},
		{"dermoscopy_1022x767", "dermoscopy_isic_0000000_1022x767.jpg"},
	}
	prep := Preprocess{Width: 224, Height: 224, Scale: 255,
		Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}
	for _, bc := range cases {
		data := readImageFile(b, filepath.Join(imageDataDir(b, "images"), bc.file))
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			cpu0, ops := processCPUTime(b), 0
			for b.Loop() {
				ops++
				tensor, _, _, err := decodeInputs(data, prep, 0, DefaultDisplaySize)
				if err != nil {
					b.Fatalf("decoding: %v", err)
				}
				if len(tensor) != 3*224*224 {
					b.Fatalf("tensor has %d values", len(tensor))
				}
			}
			cpu := processCPUTime(b) - cpu0
			b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(ops), "cpu-ms/op")
		})
	}
}

// processCPUTime is the user plus system CPU time of this process so far.
func processCPUTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("reading CPU time: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
