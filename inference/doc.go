// Package inference turns one image into class probabilities and a Grad-CAM
// heatmap with ONNX Runtime.
//
// It is a plain library: no Redis, no HTTP, no globals. An Engine is built
// from Options, loads its model lazily on the first Predict, and releases it
// with Close. The worker and the `dermq predict` command share it unchanged.
package inference
