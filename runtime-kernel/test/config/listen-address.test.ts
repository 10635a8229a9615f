import { formatListenAddress, parseListenAddress } from "../../src/config/listen-address";

describe("listen addresses", () => {
  it.each([
    ["127.0.0.1:34904", { kind: "tcp", host: "127.0.0.1", port: 34904 }, "127.0.0.1:34904"],
    ["localhost:0", { kind: "tcp", host: "localhost", port: 0 }, "localhost:0"],
    ["[::1]:34904", { kind: "tcp", host: "::1", port: 34904 }, "[::1]:34904"],
    [":34904", { kind: "tcp", host: "", port: 34904 }, ":34904"],
    ["unix:/tmp/ottavo.sock", { kind: "unix", path: "/tmp/ottavo.sock" }, "unix:/tmp/ottavo.sock"],
    ["unix:///tmp/ottavo.sock", { kind: "unix", path: "/tmp/ottavo.sock" }, "unix:/tmp/ottavo.sock"],
    ["unix:run/ottavo.sock", { kind: "unix", path: "run/ottavo.sock" }, "unix:run/ottavo.sock"],
  ])("reads %s", (text, address, formatted) => {
    expect(parseListenAddress(text)).toEqual(address);
    expect(formatListenAddress(address as never)).toBe(formatted);
  });

  it.each([
    ["34904", "must be host:port (e.g. 127.0.0.1:34904) or unix:/path/to.sock"],
    ["localhost", "must be host:port (e.g. 127.0.0.1:34904) or unix:/path/to.sock"],
    ["host:port", "must be host:port (e.g. 127.0.0.1:34904) or unix:/path/to.sock"],
    ["127.0.0.1:65536", "has a port above 65535"],
    ["unix:", "needs a socket path after 'unix:'"],
  ])("refuses %s", (text, problem) => {
    expect(parseListenAddress(text)).toEqual({ problem });
  });
});
