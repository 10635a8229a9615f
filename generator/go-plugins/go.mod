// The protoc plugins `make gen` runs for the Go SDK (sdks/go), pinned here and
// installed from the Go module proxy into .cache/go/bin by `make sdk-tools`.
module ottavo.dev/generator/go-plugins

go 1.26.0

tool (
	google.golang.org/grpc/cmd/protoc-gen-go-grpc
	google.golang.org/protobuf/cmd/protoc-gen-go
)

require (
	google.golang.org/grpc/cmd/protoc-gen-go-grpc v1.5.1 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
