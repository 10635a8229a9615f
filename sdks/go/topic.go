package ottavo

import (
	"context"
	"fmt"
	"sync"

	"ottavo.dev/sdks/go/runtimev1"
)

// TopicMessage is one delivered message; settle it with Success, Retry or Drop.
// A message left unsettled is redelivered.
type TopicMessage struct {
	Event *runtimev1.TopicEventRequest
	sub   *TopicSubscription
}

// Data is the message's payload.
func (m *TopicMessage) Data() []byte { return m.Event.GetData() }

// Success acknowledges the message.
func (m *TopicMessage) Success() error {
	return m.sub.settle(m.Event.GetId(), runtimev1.TopicEventResponse_SUCCESS)
}

// Retry asks for redelivery.
func (m *TopicMessage) Retry() error {
	return m.sub.settle(m.Event.GetId(), runtimev1.TopicEventResponse_RETRY)
}

// Drop discards the message (or sends it to the dead-letter topic).
func (m *TopicMessage) Drop() error {
	return m.sub.settle(m.Event.GetId(), runtimev1.TopicEventResponse_DROP)
}

// TopicSubscription is a streaming subscription (SubscribeTopicEvents). It is
// returned once the runtime confirmed it, so a message published afterwards
// arrives on C.
type TopicSubscription struct {
	*Subscription[TopicMessage]
	stream interface {
		Send(*runtimev1.SubscribeTopicEventsRequest) error
	}
	capability string
	sendMu     sync.Mutex
}

func (s *TopicSubscription) settle(id string, status runtimev1.TopicEventResponse_TopicEventResponseStatus) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	err := s.stream.Send(&runtimev1.SubscribeTopicEventsRequest{
		SubscribeTopicEventsRequestType: &runtimev1.SubscribeTopicEventsRequest_EventProcessed{
			EventProcessed: &runtimev1.SubscribeTopicEventsRequestProcessed{Id: id, Status: &runtimev1.TopicEventResponse{Status: status}},
		},
	})
	return classify(s.capability, err)
}

func subscribeTopic(ctx context.Context, capability string, rpc runtimev1.RuntimeClient, initial *runtimev1.SubscribeTopicEventsRequestInitial) (*TopicSubscription, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := rpc.SubscribeTopicEvents(ctx)
	if err == nil {
		err = stream.Send(&runtimev1.SubscribeTopicEventsRequest{
			SubscribeTopicEventsRequestType: &runtimev1.SubscribeTopicEventsRequest_InitialRequest{InitialRequest: initial},
		})
	}
	var first *runtimev1.SubscribeTopicEventsResponse
	if err == nil {
		first, err = stream.Recv()
	}
	if err == nil && first.GetInitialResponse() == nil {
		err = fmt.Errorf("the runtime answered a subscription without its initial response")
	}
	if err != nil {
		cancel()
		return nil, classify(capability, err)
	}
	sub := &TopicSubscription{stream: stream, capability: capability}
	sub.Subscription = newSubscription(capability, cancel, func() (*TopicMessage, error) {
		for {
			resp, err := stream.Recv()
			if err != nil {
				return nil, err
			}
			if event := resp.GetEventMessage(); event != nil {
				return &TopicMessage{Event: event, sub: sub}, nil
			}
		}
	})
	return sub, nil
}
