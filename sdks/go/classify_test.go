package ottavo

import (
	"errors"
	"fmt"
	"sort"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// How a failed call becomes a typed error, for every declared error of
// spec/components, including those no scenario can provoke on the scenario
// runtime (FileAlreadyExists: no file operation the spec declares refuses to replace a file).

func failure(t *testing.T, code codes.Code, infos ...*errdetails.ErrorInfo) error {
	t.Helper()
	s := status.New(code, "the runtime's message")
	for _, info := range infos {
		var err error
		if s, err = s.WithDetails(info); err != nil {
			t.Fatal(err)
		}
	}
	return s.Err()
}

func TestClassifyNamesEveryDeclaredError(t *testing.T) {
	var names []string
	for capability, table := range typedErrors {
		for reason := range table.reasons {
			err := classify("hello", failure(t, codes.Internal, &errdetails.ErrorInfo{Reason: reason, Domain: errorInfoDomain, Metadata: map[string]string{"capability": capability}}))
			var e *Error
			if !errors.As(err, &e) || e.Reason != reason || e.Message != "the runtime's message" || e.Capability != "hello" {
				t.Fatalf("%s/%s: got %#v", capability, reason, err)
			}
			if details := status.Convert(err).Details(); len(details) != 1 {
				t.Fatalf("%s/%s: status.Convert keeps the details, got %v", capability, reason, details)
			}
			if _, plain := err.(*Error); plain {
				t.Fatalf("%s/%s: got the plain *Error, want its typed error", capability, reason)
			}
			names = append(names, fmt.Sprintf("%T", err))
		}
	}
	sort.Strings(names)
	want := []string{"*ottavo.EtagInvalid", "*ottavo.EtagMismatch", "*ottavo.FileAlreadyExists", "*ottavo.FileNotFound", "*ottavo.FilePermissionDenied",
		"*ottavo.InvalidName", "*ottavo.ResolverUnavailable", "*ottavo.SecretNotFound", "*ottavo.TopicNotFound", "*ottavo.Unreachable", "*ottavo.UnsupportedOperation"}
	if len(names) != len(want) {
		t.Fatalf("got %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("got %v, want %v", names, want)
		}
	}
}

func TestClassifyFallsBackToTheStatus(t *testing.T) {
	// A shared error's ErrorInfo names no capability: the status's sentinel, not the capability's typed error.
	err := classify("secret", failure(t, codes.NotFound, &errdetails.ErrorInfo{Reason: "NotFound", Domain: errorInfoDomain}))
	var secret *SecretNotFound
	if errors.As(err, &secret) || !errors.Is(err, ErrNotFound) || err.(*Error).Reason != "NotFound" {
		t.Fatalf("got %#v", err)
	}
	// No ErrorInfo (another runtime): the status alone, where it names one error of the capability.
	if err := classify("secret", failure(t, codes.NotFound)); !errors.As(err, &secret) {
		t.Fatalf("got %#v", err)
	}
	// An ErrorInfo of another domain is not ours.
	err = classify("state", failure(t, codes.InvalidArgument, &errdetails.ErrorInfo{Reason: "EtagInvalid", Domain: "dapr.io", Metadata: map[string]string{"capability": "state"}}))
	var invalid *EtagInvalid
	if errors.As(err, &invalid) || !errors.Is(err, ErrInvalidArgument) || err.(*Error).Reason != "" {
		t.Fatalf("got %#v", err)
	}
}
