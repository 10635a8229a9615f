package ottavo_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	ottavo "ottavo.dev/sdks/go"
	"ottavo.dev/sdks/go/runtimev1"
)

// The Go runner of sdks/scenarios/scenarios.json: each scenario written as an
// app would write it. The runtime is started by the test tooling, which runs
// this with OTTAVO_GRPC_ENDPOINT set (sdks/test/go-sdk.test.ts; make test).

type scenario struct {
	ID     string         `json:"id"`
	Title  string         `json:"title"`
	Input  map[string]any `json:"input"`
	Expect map[string]any `json:"expect"`
}

type run func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any)

var scenarios = map[string]run{
	"hello": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		got, err := c.Hello.SayHello(ctx, str(in, "service"), str(in, "name"))
		check(t, err)
		equal(t, got, str(want, "hello"))
	},
	"state-round-trip": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		store, key := str(in, "store"), str(in, "key")
		check(t, c.State.Save(ctx, store, map[string][]byte{key: []byte(str(in, "value"))}))
		got, err := c.State.Get(ctx, store, key)
		check(t, err)
		equal(t, string(got.GetData()), str(in, "value"))
		equal(t, got.GetEtag(), str(want, "etag"))
		check(t, c.State.Delete(ctx, store, key, ottavo.StateDeleteOptions{Etag: got.GetEtag()}))
		got, err = c.State.Get(ctx, store, key)
		check(t, err)
		equal(t, len(got.GetData()), 0)
	},
	"state-etag-conflict": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		store, key := str(in, "store"), str(in, "key")
		check(t, c.State.Save(ctx, store, map[string][]byte{key: []byte(str(in, "first"))}))
		read, err := c.State.Get(ctx, store, key)
		check(t, err)
		check(t, c.State.Save(ctx, store, map[string][]byte{key: []byte(str(in, "second"))}, ottavo.StateSaveOptions{Etag: read.GetEtag()}))
		err = c.State.Save(ctx, store, map[string][]byte{key: []byte(str(in, "stale"))}, ottavo.StateSaveOptions{Etag: read.GetEtag()})
		expectError(t, err, want)
		now, err := c.State.Get(ctx, store, key)
		check(t, err)
		equal(t, string(now.GetData()), str(want, "value"))
	},
	"state-bulk": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		store := str(in, "store")
		items := map[string][]byte{}
		keys := []string{}
		for k, v := range in["items"].(map[string]any) {
			items[k] = []byte(v.(string))
			keys = append(keys, k)
		}
		sort.Strings(keys)
		check(t, c.State.Save(ctx, store, items))
		read, err := c.State.GetBulk(ctx, store, append(append([]string{}, keys...), str(in, "missing")))
		check(t, err)
		got := map[string]string{}
		for _, item := range read {
			got[item.GetKey()] = string(item.GetData())
		}
		for k, v := range items {
			equal(t, got[k], string(v))
		}
		equal(t, got[str(in, "missing")], "")
		check(t, c.State.DeleteBulk(ctx, store, keys))
		read, err = c.State.GetBulk(ctx, store, keys)
		check(t, err)
		for _, item := range read {
			equal(t, string(item.GetData()), str(want, "afterDelete"))
		}
	},
	"state-transaction": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		store := str(in, "store")
		check(t, c.State.Save(ctx, store, map[string][]byte{str(in, "drop"): []byte("to be deleted")}))
		check(t, c.State.Transact(ctx, store, []*runtimev1.TransactionalStateOperation{
			{OperationType: "upsert", Request: &runtimev1.StateItem{Key: str(in, "keep"), Value: []byte(str(in, "value"))}},
			{OperationType: "delete", Request: &runtimev1.StateItem{Key: str(in, "drop")}},
		}))
		kept, err := c.State.Get(ctx, store, str(in, "keep"))
		check(t, err)
		equal(t, string(kept.GetData()), str(in, "value"))
		dropped, err := c.State.Get(ctx, store, str(in, "drop"))
		check(t, err)
		equal(t, string(dropped.GetData()), str(want, "dropped"))
	},
	"lock-contention": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		other, err := ottavo.New("")
		check(t, err)
		defer other.Close()
		owners := in["owners"].([]any)
		store, resource, expire := str(in, "store"), str(in, "resource"), int32(in["expireSeconds"].(float64))
		first, err := c.Lock.TryLock(ctx, store, resource, owners[0].(string), expire)
		check(t, err)
		equal(t, first.Acquired, true)
		refused, err := other.Lock.TryLock(ctx, store, resource, owners[1].(string), expire)
		check(t, err)
		equal(t, refused.Acquired, false)
		status, err := first.Unlock(ctx)
		check(t, err)
		equal(t, float64(status), want["unlockStatus"].(float64))
		func() {
			second, err := other.Lock.TryLock(ctx, store, resource, owners[1].(string), expire)
			check(t, err)
			equal(t, second.Acquired, true)
			defer second.Unlock(ctx)
		}()
		again, err := c.Lock.TryLock(ctx, store, resource, owners[0].(string), expire)
		check(t, err)
		equal(t, again.Acquired, true)
		_, err = again.Unlock(ctx)
		check(t, err)
	},
	"sequencer": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		var last int64
		for i := 0; i < int(want["count"].(float64)); i++ {
			id, err := c.Sequencer.NextId(ctx, str(in, "store"), str(in, "key"))
			check(t, err)
			if id <= last {
				t.Fatalf("id %d after %d", id, last)
			}
			last = id
		}
	},
	"configuration-subscribe": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		store, key := str(in, "store"), str(in, "key")
		check(t, c.Configuration.Save(ctx, store, []*runtimev1.ConfigurationItem{{Key: key, Content: str(in, "first")}}))
		items, err := c.Configuration.Get(ctx, store, []string{key})
		check(t, err)
		equal(t, len(items), 1)
		equal(t, items[0].GetContent(), str(in, "first"))
		// Subscribe returns once the runtime confirmed the subscription: the save below is delivered.
		sub, err := c.Configuration.Subscribe(ctx, store, []string{key})
		check(t, err)
		defer sub.Close()
		check(t, c.Configuration.Save(ctx, store, []*runtimev1.ConfigurationItem{{Key: key, Content: str(in, "changed")}}))
		change, ok := <-sub.C
		if !ok {
			t.Fatalf("subscription ended: %v", sub.Err())
		}
		equal(t, len(change.GetItems()), 1)
		equal(t, change.GetItems()[0].GetContent(), str(in, "changed"))
	},
	"pubsub-stream": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		sub, err := c.Pubsub.Subscribe(ctx, str(in, "pubsub"), str(in, "topic"))
		check(t, err)
		defer sub.Close()
		check(t, c.Pubsub.Publish(ctx, str(in, "pubsub"), str(in, "topic"), []byte(str(in, "data"))))
		msg, ok := <-sub.C
		if !ok {
			t.Fatalf("subscription ended: %v", sub.Err())
		}
		equal(t, string(msg.Data()), str(in, "data"))
		equal(t, msg.Event.GetTopic(), str(in, "topic"))
		check(t, msg.Success())
	},
	"file-round-trip": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		store, name := str(in, "store"), str(in, "name")
		content := deterministicBytes(int(in["sizeBytes"].(float64)))
		check(t, c.File.Put(ctx, store, name, bytes.NewReader(content)))
		reader, err := c.File.Get(ctx, store, name)
		check(t, err)
		read, err := io.ReadAll(reader)
		check(t, err)
		check(t, reader.Close())
		equal(t, len(read), len(content))
		equal(t, sha256.Sum256(read), sha256.Sum256(content))
		meta, err := c.File.Stat(ctx, store, name)
		check(t, err)
		equal(t, meta.GetSize(), int64(len(content)))
		listed, err := c.File.List(ctx, store, str(in, "dir"))
		check(t, err)
		found := false
		for _, f := range listed.GetFiles() {
			found = found || strings.HasSuffix(f.GetFileName(), "blob.bin")
		}
		equal(t, found, true)
		check(t, c.File.Delete(ctx, store, name))
		reader, err = c.File.Get(ctx, store, name)
		if err == nil {
			_, err = io.ReadAll(reader)
		}
		expectError(t, err, want)
	},
	"secrets": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		store, key := str(in, "store"), str(in, "key")
		got, err := c.Secret.Get(ctx, store, key)
		check(t, err)
		equal(t, got[key], str(want, "value"))
		all, err := c.Secret.GetBulk(ctx, store)
		check(t, err)
		equal(t, all[key].GetSecrets()[key], str(want, "value"))
		_, err = c.Secret.Get(ctx, store, str(in, "missing"))
		expectError(t, err, want)
	},
	"binding": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		resp, err := c.Binding.Invoke(ctx, str(in, "name"), str(in, "operation"), []byte(str(in, "data")))
		check(t, err)
		equal(t, string(resp.GetData()), str(want, "data"))
	},
	"invoke": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		resp, err := c.Invoke(ctx, str(in, "app"), str(in, "method"), []byte(str(in, "data")), ottavo.InvokeOptions{ContentType: str(in, "contentType")})
		check(t, err)
		equal(t, string(resp.GetData().GetValue()), str(want, "data"))
		equal(t, resp.GetContentType(), str(want, "contentType"))
	},
	"error-unknown-store": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		_, err := c.State.Get(ctx, str(in, "store"), str(in, "key"))
		expectError(t, err, want)
	},
	"error-etag-invalid": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		err := c.State.Save(ctx, str(in, "store"), map[string][]byte{str(in, "key"): []byte(str(in, "value"))}, ottavo.StateSaveOptions{Etag: str(in, "etag")})
		expectError(t, err, want)
	},
	"error-file-invalid-name": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		_, err := c.File.Stat(ctx, str(in, "store"), str(in, "name"))
		expectError(t, err, want)
	},
	"error-topic-not-found": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		err := c.Pubsub.Publish(ctx, str(in, "pubsub"), str(in, "topic"), []byte(str(in, "data")))
		expectError(t, err, want)
	},
	"error-binding-unsupported-operation": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		_, err := c.Binding.Invoke(ctx, str(in, "name"), str(in, "operation"), []byte(str(in, "data")))
		expectError(t, err, want)
	},
	"error-binding-unreachable": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		_, err := c.Binding.Invoke(ctx, str(in, "name"), str(in, "operation"), []byte(str(in, "data")))
		expectError(t, err, want)
	},
	"error-invoke-own-app": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		_, err := c.Invoke(ctx, str(in, "app"), str(in, "method"), []byte(str(in, "data")))
		expectError(t, err, want)
	},
	"error-invoke-resolver-unavailable": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		_, err := c.Invoke(ctx, str(in, "app"), str(in, "method"), []byte(str(in, "data")))
		expectError(t, err, want)
	},
	"error-file-permission-denied": func(t *testing.T, ctx context.Context, c *ottavo.ConnectedClient, in, want map[string]any) {
		expectError(t, c.File.Delete(ctx, str(in, "store"), str(in, "name")), want)
	},
}

// typedErrors: how a Go app tells each expected error apart: errors.As for the
// typed errors of spec/components, errors.Is with a status sentinel otherwise.
var typedErrors = map[string]func(error) bool{
	"EtagMismatch":         isA[*ottavo.EtagMismatch],
	"EtagInvalid":          isA[*ottavo.EtagInvalid],
	"FileNotFound":         isA[*ottavo.FileNotFound],
	"FilePermissionDenied": isA[*ottavo.FilePermissionDenied],
	"InvalidName":          isA[*ottavo.InvalidName],
	"SecretNotFound":       isA[*ottavo.SecretNotFound],
	"TopicNotFound":        isA[*ottavo.TopicNotFound],
	"UnsupportedOperation": isA[*ottavo.UnsupportedOperation],
	"Unreachable":          isA[*ottavo.Unreachable],
	"ResolverUnavailable":  isA[*ottavo.ResolverUnavailable],
	"InvalidArgument":      func(err error) bool { return errors.Is(err, ottavo.ErrInvalidArgument) },
	"FailedPrecondition":   func(err error) bool { return errors.Is(err, ottavo.ErrFailedPrecondition) },
}

func isA[E error](err error) bool {
	var target E
	return errors.As(err, &target)
}

// expectError checks err is the expected typed error and unwraps to *ottavo.Error with the expected status.
func expectError(t *testing.T, err error, want map[string]any) {
	t.Helper()
	is, known := typedErrors[str(want, "error")]
	if !known {
		t.Fatalf("the Go runner knows no error %s", str(want, "error"))
	}
	var e *ottavo.Error
	if !is(err) || !errors.As(err, &e) {
		t.Fatalf("want %s, got %T: %v", str(want, "error"), err, err)
	}
	// codes.Code spells INVALID_ARGUMENT as InvalidArgument.
	status := ""
	for _, word := range strings.Split(strings.ToLower(str(want, "status")), "_") {
		status += strings.ToUpper(word[:1]) + word[1:]
	}
	equal(t, e.Code.String(), status)
}

func TestScenarios(t *testing.T) {
	if os.Getenv("OTTAVO_GRPC_ENDPOINT") == "" {
		t.Fatal("OTTAVO_GRPC_ENDPOINT is not set: the scenarios run against a runtime the test tooling starts (make test, or npx jest sdks/test/go-sdk)")
	}
	raw, err := os.ReadFile("../scenarios/scenarios.json")
	check(t, err)
	var table struct{ Scenarios []scenario }
	check(t, json.Unmarshal(raw, &table))
	ids := map[string]bool{}
	for _, s := range table.Scenarios {
		ids[s.ID] = true
		if scenarios[s.ID] == nil {
			t.Errorf("scenario %s is in the table but has no Go runner", s.ID)
		}
	}
	for id := range scenarios {
		if !ids[id] {
			t.Errorf("the Go runner has scenario %s, which the table does not list", id)
		}
	}
	client, err := ottavo.New("")
	check(t, err)
	defer client.Close()
	for _, s := range table.Scenarios {
		t.Run(s.ID, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			scenarios[s.ID](t, ctx, client, s.Input, s.Expect)
		})
	}
}

func str(m map[string]any, key string) string { return m[key].(string) }

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func equal[T comparable](t *testing.T, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func deterministicBytes(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*31 + i>>8)
	}
	return b
}
