import type * as http from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { readFunctionSpec, readLayottoFunction } from "../config/functions-config";
import type { FunctionHost } from "./function-host";
import type { FunctionSpec } from "../config/function-spec";
import { readBody } from "./read-body";

type Answer = { status: number; body: unknown };

/** Largest admin request body. */
const maxBodyBytes = 64 * 1024;

const httpStatusOf: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.ResourceExhausted]: 413,
};

/**
 * Function life cycle over the actuator's HTTP port:
 *
 * - Layotto's: `POST /wasm/install` and `POST /wasm/update` with
 *   `{"name", "instance_num", "vm_config": {"path"}}`, `POST /wasm/uninstall` with `{"name"}`.
 * - Ottavo's: `GET /actuator/functions` (state, instances, calls, last error),
 *   `PUT /actuator/functions/<name>` with the function's settings as in the YAML
 *   `wasm.functions` (installs, or updates an installed one), `DELETE /actuator/functions/<name>`.
 *
 * Relative paths are relative to the config file's folder. When the runtime has an API
 * token, these endpoints require it, as the actuator's other non-probe endpoints do.
 */
export async function functionAdmin(functions: FunctionHost | undefined, request: http.IncomingMessage, authorized = true): Promise<Answer | undefined> {
  const path = (request.url ?? "/").split("?", 1)[0].replace(/\/+$/, "");
  const layotto = /^\/wasm\/(install|update|uninstall)$/.exec(path);
  const ottavo = /^\/actuator\/functions(?:\/([^/]+))?$/.exec(path);
  if (!layotto && !ottavo) return undefined;
  if (!authorized) return { status: 401, body: { error: "a valid API token is required for the function admin endpoints" } };
  if (functions === undefined) return { status: 503, body: { error: "the runtime is not serving yet" } };
  try {
    if (layotto) {
      if (request.method !== "POST") return { status: 405, body: { error: "method not allowed; use POST" } };
      const body = await readJson(request);
      if (layotto[1] === "uninstall") {
        const name = isObject(body) && typeof body.name === "string" ? body.name : "";
        if (name === "") throw new ConnectError("uninstall needs {\"name\": \"<function>\"}", Code.InvalidArgument);
        await functions.uninstall(name);
        return { status: 200, body: { uninstalled: name } };
      }
      const spec = specOrThrow((report) => readLayottoFunction(report, "the request", body));
      const status = layotto[1] === "install" ? await functions.install(spec) : await functions.update(spec);
      return { status: 200, body: status };
    }
    const name = ottavo![1] === undefined ? undefined : decodeURIComponent(ottavo![1]);
    if (name === undefined) {
      if (request.method !== "GET" && request.method !== "HEAD") return { status: 405, body: { error: "method not allowed" } };
      return { status: 200, body: { functions: functions.list() } };
    }
    if (request.method === "GET") {
      const found = functions.list().find((f) => f.name === name);
      return found ? { status: 200, body: found } : { status: 404, body: { error: `function '${name}' is not installed` } };
    }
    if (request.method === "DELETE") {
      await functions.uninstall(name);
      return { status: 200, body: { uninstalled: name } };
    }
    if (request.method === "PUT") {
      const body = await readJson(request);
      const spec = specOrThrow((report) => readFunctionSpec(report, "the request", name, body));
      const installed = functions.list().some((f) => f.name === name);
      return { status: 200, body: installed ? await functions.update(spec) : await functions.install(spec) };
    }
    return { status: 405, body: { error: "method not allowed; use GET, PUT or DELETE" } };
  } catch (error) {
    const e = ConnectError.from(error);
    return { status: httpStatusOf[e.code] ?? 500, body: { error: e.rawMessage } };
  }
}

function specOrThrow(read: (report: { problem(text: string): void }) => FunctionSpec | undefined): FunctionSpec {
  const problems: string[] = [];
  const spec = read({ problem: (text) => problems.push(text) });
  if (spec === undefined || problems.length > 0) throw new ConnectError(problems.join("; "), Code.InvalidArgument);
  return spec;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

async function readJson(request: http.IncomingMessage): Promise<unknown> {
  const body = await readBody(request, maxBodyBytes);
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new ConnectError("the request body is not JSON", Code.InvalidArgument);
  }
}
