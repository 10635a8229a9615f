package ottavo

import (
	"fmt"
	"net"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// DefaultEndpoint is where the runtime listens when nothing says otherwise.
const DefaultEndpoint = "127.0.0.1:34904"

// ResolveEndpoint answers the runtime's gRPC address from the environment:
// OTTAVO_GRPC_ENDPOINT (host:port or http://host:port), else Layotto's
// runtime_GRPC_HOST / runtime_GRPC_PORT, else Dapr's DAPR_GRPC_ENDPOINT /
// DAPR_GRPC_PORT, else DefaultEndpoint.
func ResolveEndpoint() string {
	if v := env("OTTAVO_GRPC_ENDPOINT"); v != "" {
		return hostPort(v)
	}
	host, port := env("runtime_GRPC_HOST"), env("runtime_GRPC_PORT")
	if host != "" || port != "" {
		if host == "" {
			host = "127.0.0.1"
		}
		if port == "" {
			port = "34904"
		}
		return net.JoinHostPort(host, port)
	}
	if v := env("DAPR_GRPC_ENDPOINT"); v != "" {
		return hostPort(v)
	}
	if v := env("DAPR_GRPC_PORT"); v != "" {
		return net.JoinHostPort("127.0.0.1", v)
	}
	return DefaultEndpoint
}

func env(name string) string { return strings.TrimSpace(os.Getenv(name)) }

func hostPort(address string) string {
	address = strings.TrimPrefix(strings.TrimPrefix(address, "http://"), "dns:///")
	return strings.TrimRight(address, "/")
}

// ConnectedClient is a Client that owns its connection; Close releases it.
type ConnectedClient struct {
	*Client
	conn *grpc.ClientConn
}

// Close closes the connection.
func (c *ConnectedClient) Close() error { return c.conn.Close() }

// New connects to the runtime at endpoint (host:port), or at ResolveEndpoint()
// when endpoint is empty. The connection is made lazily, on the first call.
func New(endpoint string, opts ...grpc.DialOption) (*ConnectedClient, error) {
	if endpoint == "" {
		endpoint = ResolveEndpoint()
	}
	conn, err := grpc.NewClient(hostPort(endpoint), append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("ottavo: runtime endpoint %s: %w", endpoint, err)
	}
	return &ConnectedClient{Client: NewFromConn(conn), conn: conn}, nil
}
