// streambench measures one SubscribeTopicEvents stream of the Runtime API with
// grpc-go (not Node, so the client is not what limits): it opens the stream,
// sends the initial request, waits for the runtime's initial response, then
// answers every event it receives with event_processed (SUCCESS) until it has
// received -messages events, and prints one JSON line:
//
//	{"openMs":..,"firstMs":..,"messages":..,"seconds":..,"perSecond":..}
//
// openMs is from the stream's start until the initial response, firstMs until
// the first event, and perSecond counts events from the first to the last. The
// topic is expected to hold a backlog published before (the in-memory pubsub
// keeps a topic's messages for its first subscriber). Messages are encoded and
// decoded by hand (a few fields of protobuf wire format), so no generated stubs
// are needed.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/encoding/protowire"
)

// rawCodec passes the bytes through: the messages are encoded and decoded here.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append((*(v.(*[]byte)))[:0], data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

var _ encoding.Codec = rawCodec{}

type result struct {
	OpenMs    float64 `json:"openMs"`
	FirstMs   float64 `json:"firstMs"`
	Messages  int     `json:"messages"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"perSecond"`
}

// initialRequest is SubscribeTopicEventsRequest{initial_request: {pubsub_name, topic}}.
func initialRequest(pubsub, topic string) []byte {
	var initial []byte
	initial = protowire.AppendTag(initial, 1, protowire.BytesType)
	initial = protowire.AppendString(initial, pubsub)
	initial = protowire.AppendTag(initial, 2, protowire.BytesType)
	initial = protowire.AppendString(initial, topic)
	var request []byte
	request = protowire.AppendTag(request, 1, protowire.BytesType)
	return protowire.AppendBytes(request, initial)
}

// processed is SubscribeTopicEventsRequest{event_processed: {id, status: {SUCCESS}}}.
func processed(id []byte) []byte {
	var inner []byte
	inner = protowire.AppendTag(inner, 1, protowire.BytesType)
	inner = protowire.AppendBytes(inner, id)
	inner = protowire.AppendTag(inner, 2, protowire.BytesType)
	inner = protowire.AppendBytes(inner, nil)
	var request []byte
	request = protowire.AppendTag(request, 2, protowire.BytesType)
	return protowire.AppendBytes(request, inner)
}

// field returns the bytes of the first length-delimited field `number` of a message.
func field(message []byte, number protowire.Number) ([]byte, bool) {
	for len(message) > 0 {
		num, typ, n := protowire.ConsumeTag(message)
		if n < 0 {
			return nil, false
		}
		message = message[n:]
		if num == number && typ == protowire.BytesType {
			value, m := protowire.ConsumeBytes(message)
			return value, m >= 0
		}
		m := protowire.ConsumeFieldValue(num, typ, message)
		if m < 0 {
			return nil, false
		}
		message = message[m:]
	}
	return nil, false
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func main() {
	addr := flag.String("addr", "", "host:port of the runtime's API (plaintext HTTP/2)")
	pubsub := flag.String("pubsub", "", "the pubsub component")
	topic := flag.String("topic", "", "the topic, holding at least -messages messages")
	messages := flag.Int("messages", 1000, "how many events to receive")
	timeout := flag.Duration("timeout", 60*time.Second, "the whole run's deadline")
	flag.Parse()
	if *addr == "" || *pubsub == "" || *topic == "" || *messages < 1 {
		fail("usage: streambench -addr host:port -pubsub name -topic name [-messages n]")
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	if err != nil {
		fail("%v", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	desc := &grpc.StreamDesc{StreamName: "SubscribeTopicEvents", ServerStreams: true, ClientStreams: true}
	started := time.Now()
	stream, err := conn.NewStream(ctx, desc, "/spec.proto.runtime.v1.Runtime/SubscribeTopicEvents")
	if err != nil {
		fail("open: %v", err)
	}
	first := initialRequest(*pubsub, *topic)
	if err := stream.SendMsg(&first); err != nil {
		fail("send initial request: %v", err)
	}
	var reply []byte
	if err := stream.RecvMsg(&reply); err != nil {
		fail("initial response: %v", err)
	}
	if _, ok := field(reply, 1); !ok {
		fail("the first message is not the initial response")
	}
	opened := time.Since(started)
	var firstAt time.Time
	for received := 0; received < *messages; {
		if err := stream.RecvMsg(&reply); err != nil {
			fail("after %d events: %v", received, err)
		}
		event, ok := field(reply, 2)
		if !ok {
			fail("a message that is not an event after %d events", received)
		}
		id, ok := field(event, 1)
		if !ok {
			fail("an event without id")
		}
		if received == 0 {
			firstAt = time.Now()
		}
		received++
		ack := processed(id)
		if err := stream.SendMsg(&ack); err != nil {
			fail("ack: %v", err)
		}
	}
	elapsed := time.Since(firstAt).Seconds()
	_ = stream.CloseSend()
	cancel()
	out := result{
		OpenMs:   float64(opened.Microseconds()) / 1000,
		FirstMs:  float64(firstAt.Sub(started).Microseconds()) / 1000,
		Messages: *messages,
		Seconds:  elapsed,
	}
	if *messages > 1 && elapsed > 0 {
		out.PerSecond = float64(*messages-1) / elapsed
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}
