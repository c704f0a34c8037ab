package jobs

import (
	"encoding/json"
	"fmt"

	"github.com/hibiken/asynq"
)

// TypePredict is the asynq task type of one prediction.
const TypePredict = "predict"

// QueuePredict is the queue interactive predictions go to.
const QueuePredict = "predict"

// PredictPayload is the body of a predict task. The upload itself travels
// through the Store, not the task, so the queue stays small.
type PredictPayload struct {
	// ID is the prediction id, which is also the asynq task id.
	ID string `json:"id"`
	// Class is the class Grad-CAM should explain; empty means the top class.
	Class string `json:"class,omitempty"`
}

// NewPredictTask builds the asynq task for one prediction.
func NewPredictTask(p PredictPayload) (*asynq.Task, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding predict payload: %w", err)
	}

	return asynq.NewTask(TypePredict, body), nil
}

// decodePredictPayload reads a predict task's payload.
func decodePredictPayload(task *asynq.Task) (PredictPayload, error) {
	var p PredictPayload
	if err := json.Unmarshal(task.Payload(), &p); err != nil {
		return p, fmt.Errorf("decoding predict payload: %w", err)
	}
	if !ValidID(p.ID) {
		return p, fmt.Errorf("decoding predict payload: invalid id %q", p.ID)
	}

	return p, nil
}
