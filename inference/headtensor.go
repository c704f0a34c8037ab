package inference

import (
	"fmt"
	"slices"
)

// tensor is a small dense float64 tensor in row-major order: the values the
// Grad-CAM head replay works with.
type tensor struct {
	shape []int
	data  []float64
}

// newTensor returns a zero tensor of the given shape.
func newTensor(shape []int) *tensor {
	return &tensor{shape: slices.Clone(shape), data: make([]float64, shapeSize(shape))}
}

// shapeSize is the number of elements of a shape.
func shapeSize(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// reshaped returns a tensor sharing t's data with another shape.
func (t *tensor) reshaped(shape []int) *tensor {
	return &tensor{shape: slices.Clone(shape), data: t.data}
}

// maxHeadValues caps the size of any tensor the head replay computes. A
// real head works on vectors; only a malformed graph asks for more.
const maxHeadValues = 1 << 22

// checkHeadSize refuses an output shape larger than maxHeadValues.
func checkHeadSize(shape []int) error {
	n := 1
	for _, d := range shape {
		if d < 0 || d > maxHeadValues || n*max(d, 1) > maxHeadValues {
			return fmt.Errorf("a tensor of shape %v is too large for a classifier head", shape)
		}
		n *= d
	}
	return nil
}

// broadcastShape returns the numpy-style broadcast of two shapes.
func broadcastShape(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := dimFromEnd(a, n-1-i), dimFromEnd(b, n-1-i)
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, checkHeadSize(out)
}

// dimFromEnd returns dimension k counted from the end of shape, or 1.
func dimFromEnd(shape []int, k int) int {
	if k >= len(shape) {
		return 1
	}
	return shape[len(shape)-1-k]
}

// broadcastIndex maps every flat index of shape out to the flat index of a
// tensor of shape in that broadcasts to out.
func broadcastIndex(in, out []int) []int {
	strides := make([]int, len(out))
	stride := 1
	for k := 0; k < len(out); k++ {
		d := dimFromEnd(in, k)
		if d != 1 {
			strides[len(out)-1-k] = stride
		}
		stride *= d
	}

	index := make([]int, shapeSize(out))
	coord := make([]int, len(out))
	for i := range index {
		off := 0
		for ax, c := range coord {
			off += c * strides[ax]
		}
		index[i] = off
		incrementCoord(coord, out)
	}
	return index
}

// incrementCoord advances a row-major coordinate by one element.
func incrementCoord(coord, shape []int) {
	for ax := len(coord) - 1; ax >= 0; ax-- {
		coord[ax]++
		if coord[ax] < shape[ax] {
			return
		}
		coord[ax] = 0
	}
}

// unbroadcast sums a gradient of the broadcast shape back to shape.
func unbroadcast(grad *tensor, shape []int) *tensor {
	out := newTensor(shape)
	index := broadcastIndex(shape, grad.shape)
	for i, g := range grad.data {
		out.data[index[i]] += g
	}
	return out
}

// transposed returns t with its axes permuted by perm.
func (t *tensor) transposed(perm []int) *tensor {
	shape := make([]int, len(perm))
	for i, p := range perm {
		shape[i] = t.shape[p]
	}
	inStrides := stridesOf(t.shape)
	out := newTensor(shape)
	coord := make([]int, len(shape))
	for i := range out.data {
		off := 0
		for ax, c := range coord {
			off += c * inStrides[perm[ax]]
		}
		out.data[i] = t.data[off]
		incrementCoord(coord, shape)
	}
	return out
}

// stridesOf returns the row-major strides of a shape.
func stridesOf(shape []int) []int {
	strides := make([]int, len(shape))
	stride := 1
	for ax := len(shape) - 1; ax >= 0; ax-- {
		strides[ax] = stride
		stride *= shape[ax]
	}
	return strides
}

// matmul multiplies a (m x k) by b (k x n), both row-major.
func matmul(a, b []float64, m, k, n int) []float64 {
	out := make([]float64, m*n)
	for i := range m {
		row := out[i*n : (i+1)*n]
		for p := range k {
			av := a[i*k+p]
			if av == 0 {
				continue
			}
			for j, bv := range b[p*n : (p+1)*n] {
				row[j] += av * bv
			}
		}
	}
	return out
}

// transpose2D transposes a row-major (rows x cols) matrix.
func transpose2D(a []float64, rows, cols int) []float64 {
	out := make([]float64, len(a))
	for i := range rows {
		for j := range cols {
			out[j*rows+i] = a[i*cols+j]
		}
	}
	return out
}
