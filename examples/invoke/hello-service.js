// A plain HTTP service for the invocation examples: nothing in it knows about
// the runtime. GET /hello?name=x greets; POST /orders takes a JSON order.
//
//   node examples/invoke/hello-service.js [port]     # 8889 by default
const http = require("node:http");

const port = Number(process.argv[2] ?? 8889);
let nextOrder = 1;

const server = http.createServer((request, response) => {
  const url = new URL(request.url, "http://localhost");
  let body = "";
  request.setEncoding("utf8");
  request.on("data", (chunk) => (body += chunk));
  request.on("end", () => {
    if (request.method === "GET" && url.pathname === "/hello") {
      response.setHeader("content-type", "text/plain");
      return response.end(`hello, ${url.searchParams.get("name") ?? "stranger"} (from port ${port})`);
    }
    if (request.method === "POST" && url.pathname === "/orders") {
      const order = JSON.parse(body || "{}");
      response.setHeader("content-type", "application/json");
      return response.end(JSON.stringify({ id: nextOrder++, ...order, caller: request.headers["x-caller"] ?? null }));
    }
    response.statusCode = 404;
    response.end(`no ${request.method} ${url.pathname} here`);
  });
});

server.listen(port, "127.0.0.1", () => console.log(`hello-service: listening on 127.0.0.1:${port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
