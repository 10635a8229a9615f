// Orders is a pub/sub subscriber: configured with
//
//	subscriptions: [{ pubsub: pub_subs_demo, topic: orders }]
//
// it receives every event published to the topic, as an app's OnTopicEvent would,
// and its answer decides what the pubsub does with the event. An event's data is
// an order id, optionally with an action: "<order>" or "<order>:<action>". Each
// delivery is counted in the state store state_demo (deliveries/<order>), a
// settled order is recorded there (orders/<order> = the topic), and the answer
// depends on the action:
//
//	(none)       SUCCESS
//	retry-once   RETRY on the first delivery, SUCCESS on the next
//	fail-once    an UNAVAILABLE error on the first delivery (redelivered, as for RETRY), SUCCESS on the next
//	drop         DROP: the event is discarded
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o orders.wasm ./orders
package main

import (
	"strconv"
	"strings"

	"github.com/ottavo/wasm-sdk/abi"
	"github.com/ottavo/wasm-sdk/ottavo"
)

const store = "state_demo"

func init() {
	ottavo.Handle(func(req *ottavo.CommonInvokeRequest) (*ottavo.InvokeResponse, error) {
		if req.Method != "OnTopicEvent" || req.Data == nil {
			return nil, abi.Errorf(abi.InvalidArgument, "orders takes pub/sub events only (method OnTopicEvent), not %q", req.Method)
		}
		event := &ottavo.TopicEventRequest{}
		if err := event.Unmarshal(req.Data.Value); err != nil {
			return nil, abi.Errorf(abi.InvalidArgument, "the event does not decode: %v", err)
		}
		order, action, _ := strings.Cut(string(event.Data), ":")
		deliveries, err := countDelivery(order)
		if err != nil {
			return nil, err
		}
		status := ottavo.TopicEventResponse_TopicEventResponseStatus_SUCCESS
		switch action {
		case "retry-once":
			if deliveries == 1 {
				status = ottavo.TopicEventResponse_TopicEventResponseStatus_RETRY
			}
		case "fail-once":
			if deliveries == 1 {
				return nil, abi.Errorf(abi.Unavailable, "order %s failed on purpose", order)
			}
		case "drop":
			status = ottavo.TopicEventResponse_TopicEventResponseStatus_DROP
		}
		if status == ottavo.TopicEventResponse_TopicEventResponseStatus_SUCCESS {
			if err := save("orders/"+order, []byte(event.Topic)); err != nil {
				return nil, err
			}
		}
		answer := &ottavo.TopicEventResponse{Status: status}
		return &ottavo.InvokeResponse{Data: &ottavo.Any{Value: answer.Marshal()}}, nil
	})
}

// countDelivery adds one to deliveries/<order> and answers the new count.
func countDelivery(order string) (int, error) {
	got, err := ottavo.State.GetState(&ottavo.GetStateRequest{StoreName: store, Key: "deliveries/" + order})
	if err != nil {
		return 0, err
	}
	n, _ := strconv.Atoi(string(got.Data))
	n++
	return n, save("deliveries/"+order, []byte(strconv.Itoa(n)))
}

func save(key string, value []byte) error {
	_, err := ottavo.State.SaveState(&ottavo.SaveStateRequest{StoreName: store, States: []*ottavo.StateItem{{Key: key, Value: value}}})
	return err
}

func main() {}
