package inference

import (
	"math"
)

// unaryFunc is an elementwise operator: f gives y from x, df gives dy/dx
// from x and y.
type unaryFunc struct {
	f  func(x float64) float64
	df func(x, y float64) float64
}

// SELU constants from the ONNX operator definition.
const (
	seluAlpha = 1.67326319217681884765625
	seluGamma = 1.05070102214813232421875
)

// unaryFuncs returns the elementwise operator for a node, or false.
func unaryFuncs(n *onnxNode) (unaryFunc, bool) {
	alpha := func(def float64) float64 { return attrFloat(n, "alpha", def) }
	switch n.opType {
	case "Identity", "Dropout":
		return unaryFunc{func(x float64) float64 { return x }, one}, true
	case "Relu":
		return leakyRelu(0), true
	case "LeakyRelu":
		return leakyRelu(alpha(0.01)), true
	case "Sigmoid":
		return unaryFunc{sigmoid, func(_, y float64) float64 { return y * (1 - y) }}, true
	case "Tanh":
		return unaryFunc{math.Tanh, func(_, y float64) float64 { return 1 - y*y }}, true
	case "HardSigmoid":
		return hardSigmoid(alpha(0.2), attrFloat(n, "beta", 0.5)), true
	case "HardSwish":
		return hardSwish(), true
	case "Elu":
		return elu(alpha(1), 1), true
	case "Selu":
		return elu(alpha(seluAlpha), attrFloat(n, "gamma", seluGamma)), true
	case "Erf":
		return unaryFunc{math.Erf, erfGrad}, true
	case "Gelu":
		if string(n.attrs["approximate"].s) == "tanh" {
			return geluTanh(), true
		}
		return geluErf(), true
	case "Softplus":
		return unaryFunc{softplus, func(x, _ float64) float64 { return sigmoid(x) }}, true
	case "Neg":
		return unaryFunc{func(x float64) float64 { return -x },
			func(_, _ float64) float64 { return -1 }}, true
	}
	return unaryFunc{}, false
}

// attrFloat returns a float attribute of n, or def when it is absent.
func attrFloat(n *onnxNode, name string, def float64) float64 {
	if a, ok := n.attrs[name]; ok {
		return float64(a.f)
	}
	return def
}

// attrInt returns an int attribute of n, or def when it is absent.
func attrInt(n *onnxNode, name string, def int64) int64 {
	if a, ok := n.attrs[name]; ok {
		return a.i
	}
	return def
}

func one(_, _ float64) float64 { return 1 }

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func softplus(x float64) float64 {
	if x > 30 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

func erfGrad(x, _ float64) float64 { return 2 / math.Sqrt(math.Pi) * math.Exp(-x*x) }

// leakyRelu is x for x > 0 and alpha*x otherwise; Relu when alpha is 0.
func leakyRelu(alpha float64) unaryFunc {
	return unaryFunc{
		f: func(x float64) float64 {
			if x > 0 {
				return x
			}
			return alpha * x
		},
		df: func(x, _ float64) float64 {
			if x > 0 {
				return 1
			}
			return alpha
		},
	}
}

// hardSigmoid is max(0, min(1, alpha*x + beta)).
func hardSigmoid(alpha, beta float64) unaryFunc {
	return unaryFunc{
		f: func(x float64) float64 { return min(1, max(0, alpha*x+beta)) },
		df: func(x, _ float64) float64 {
			if v := alpha*x + beta; v > 0 && v < 1 {
				return alpha
			}
			return 0
		},
	}
}

// hardSwish is x * hardSigmoid(x) with alpha 1/6 and beta 0.5.
func hardSwish() unaryFunc {
	return unaryFunc{
		f: func(x float64) float64 { return x * min(1, max(0, x/6+0.5)) },
		df: func(x, _ float64) float64 {
			switch {
			case x < -3:
				return 0
			case x > 3:
				return 1
			}
			return x/3 + 0.5
		},
	}
}

// elu is gamma*x for x > 0 and gamma*alpha*(e^x - 1) otherwise.
func elu(alpha, gamma float64) unaryFunc {
	return unaryFunc{
		f: func(x float64) float64 {
			if x > 0 {
				return gamma * x
			}
			return gamma * alpha * (math.Exp(x) - 1)
		},
		df: func(x, _ float64) float64 {
			if x > 0 {
				return gamma
			}
			return gamma * alpha * math.Exp(x)
		},
	}
}

// geluErf is the exact GELU, x * Phi(x).
func geluErf() unaryFunc {
	return unaryFunc{
		f: func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) },
		df: func(x, _ float64) float64 {
			pdf := math.Exp(-x*x/2) / math.Sqrt(2*math.Pi)
			return 0.5*(1+math.Erf(x/math.Sqrt2)) + x*pdf
		},
	}
}

// geluTanh is GELU's tanh approximation.
func geluTanh() unaryFunc {
	k := math.Sqrt(2 / math.Pi)
	return unaryFunc{
		f: func(x float64) float64 { return 0.5 * x * (1 + math.Tanh(k*(x+0.044715*x*x*x))) },
		df: func(x, _ float64) float64 {
			t := math.Tanh(k * (x + 0.044715*x*x*x))
			dt := (1 - t*t) * k * (1 + 3*0.044715*x*x)
			return 0.5*(1+t) + 0.5*x*dt
		},
	}
}
