package ottavo

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is every failed call's error: the gRPC status and the runtime's message.
// Typed errors of spec/components (EtagMismatch, FileNotFound, ...) wrap it.
type Error struct {
	Code       codes.Code
	Message    string
	Capability string // "state", "file", ...; empty for the client's own calls
	// Reason is the IDL error's name the runtime sent ("EtagInvalid", "Unavailable"),
	// empty when it sent none.
	Reason string
	// status is the call's status as received, details included.
	status *status.Status
}

func (e *Error) Error() string { return fmt.Sprintf("ottavo: %s: %s", e.Code, e.Message) }

// GRPCStatus lets status.FromError read the original status, with its details.
func (e *Error) GRPCStatus() *status.Status {
	if e.status != nil {
		return e.status
	}
	return status.New(e.Code, e.Message)
}

// Is matches the status sentinels: errors.Is(err, ottavo.ErrNotFound).
func (e *Error) Is(target error) bool {
	code, ok := target.(statusError)
	return ok && codes.Code(code) == e.Code
}

type statusError codes.Code

func (s statusError) Error() string { return codes.Code(s).String() }

// Status sentinels for errors.Is.
var (
	ErrCanceled           error = statusError(codes.Canceled)
	ErrUnknown            error = statusError(codes.Unknown)
	ErrInvalidArgument    error = statusError(codes.InvalidArgument)
	ErrDeadlineExceeded   error = statusError(codes.DeadlineExceeded)
	ErrNotFound           error = statusError(codes.NotFound)
	ErrAlreadyExists      error = statusError(codes.AlreadyExists)
	ErrPermissionDenied   error = statusError(codes.PermissionDenied)
	ErrResourceExhausted  error = statusError(codes.ResourceExhausted)
	ErrFailedPrecondition error = statusError(codes.FailedPrecondition)
	ErrAborted            error = statusError(codes.Aborted)
	ErrOutOfRange         error = statusError(codes.OutOfRange)
	ErrUnimplemented      error = statusError(codes.Unimplemented)
	ErrInternal           error = statusError(codes.Internal)
	ErrUnavailable        error = statusError(codes.Unavailable)
	ErrDataLoss           error = statusError(codes.DataLoss)
	ErrUnauthenticated    error = statusError(codes.Unauthenticated)
)

// typedErrorsOf holds one capability's typed errors: by the ErrorInfo reason the
// runtime sends, and by a status that alone names one.
type typedErrorsOf struct {
	reasons  map[string]func(*Error) error
	statuses map[codes.Code]func(*Error) error
}

// classify turns what a gRPC call returned into *Error, or a typed error: the one
// a google.rpc.ErrorInfo of the runtime's domain names (its reason, and its
// capability in the metadata), else the called capability's for the status.
func classify(capability string, err error) error {
	if err == nil {
		return nil
	}
	var known *Error
	if errors.As(err, &known) {
		return err
	}
	s, ok := status.FromError(err)
	if !ok {
		switch {
		case errors.Is(err, context.Canceled):
			s = status.New(codes.Canceled, err.Error())
		case errors.Is(err, context.DeadlineExceeded):
			s = status.New(codes.DeadlineExceeded, err.Error())
		default:
			s = status.New(codes.Unknown, err.Error())
		}
	}
	e := &Error{Code: s.Code(), Message: s.Message(), Capability: capability, status: s}
	if info := errorInfoOf(s); info != nil {
		e.Reason = info.GetReason()
		if typed, ok := typedErrors[info.GetMetadata()["capability"]].reasons[info.GetReason()]; ok {
			return typed(e)
		}
		return e
	}
	if typed, ok := typedErrors[capability].statuses[s.Code()]; ok {
		return typed(e)
	}
	return e
}

// errorInfoOf is the status's first google.rpc.ErrorInfo of the runtime's domain, or nil.
func errorInfoOf(s *status.Status) *errdetails.ErrorInfo {
	for _, detail := range s.Proto().GetDetails() {
		info := &errdetails.ErrorInfo{}
		if detail.MessageIs(info) && detail.UnmarshalTo(info) == nil && info.GetDomain() == errorInfoDomain {
			return info
		}
	}
	return nil
}
