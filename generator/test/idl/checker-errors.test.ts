import { AggregateSpecError, loadIdl, SpecError } from "../../src/idl";
import { capabilityErrors, check } from "./fixtures";
import { runtimeRegistry } from "./protos";

const FILE = "spec/components/state.cap";

/** A minimal capability plus adapters/groups after it; line numbers below count from line 1 of this text. */
const withState = (rest: string) => `capability state as StateStore {
  feature ETAG
  operation get(key: string) returns string
}
${rest}`;

describe("type errors", () => {
  test("unknown type in an operation", () => {
    expect(capabilityErrors("  operation get(request: GetReqest)")).toEqual([
      `${FILE}:2:26: unknown type 'GetReqest' in operation 'get' (no message, enum or callback of that name in capability 'state')`,
    ]);
  });

  test("unknown return type, and a lowercase name is taken for a mistyped scalar", () => {
    expect(capabilityErrors("  operation get() returns strng")).toEqual([
      `${FILE}:2:27: unknown type 'strng' in operation 'get' (expected string, bytes, bool, int32, int64, uint32, uint64, double, timestamp, list<T>, map<K, V>, stream<T>, subscription, or a message, enum or callback of capability 'state')`,
    ]);
  });

  test("unknown type in a message field", () => {
    expect(capabilityErrors("  message GetRequest {\n    key: Key\n  }")).toEqual([
      `${FILE}:3:10: unknown type 'Key' in field 'key' of message 'GetRequest' (no message, enum or callback of that name in capability 'state')`,
    ]);
  });

  test("unknown proto type", () => {
    expect(capabilityErrors("  operation get(o: spec.proto.runtime.v1.Options, s: .spec.proto.runtime.v1.Runtime)")).toEqual([
      `${FILE}:2:20: unknown proto type 'spec.proto.runtime.v1.Options' in operation 'get' (no message or enum of that full name in the loaded protos)`,
      `${FILE}:2:54: unknown proto type '.spec.proto.runtime.v1.Runtime' in operation 'get' ('spec.proto.runtime.v1.Runtime' is a proto service, not a message or enum)`,
    ]);
  });

  test("stream in a message field", () => {
    expect(capabilityErrors("  message PutRequest {\n    data: stream<bytes>\n  }")).toEqual([
      `${FILE}:3:11: stream type in field 'data' of message 'PutRequest': stream<T> is only allowed as an operation parameter or an operation or callback return type`,
    ]);
  });

  test("nested stream, callback outside an operation parameter, misplaced subscription, bad map key", () => {
    expect(
      capabilityErrors(
        [
          "  operation a(x: list<stream<bytes>>) returns Handler",
          "  operation b() returns list<subscription>",
          "  operation c(m: map<double, string>)",
          "  callback Handler(s: stream<bytes>) returns subscription",
        ].join("\n"),
      ),
    ).toEqual([
      `${FILE}:2:23: stream type in operation 'a': stream<T> cannot be nested inside list, map or stream`,
      `${FILE}:2:47: callback 'Handler' in operation 'a': callbacks are only allowed as operation parameter types`,
      `${FILE}:3:30: 'subscription' in operation 'b': subscription is only allowed as an operation return type`,
      `${FILE}:4:22: map key type 'double' in operation 'c': map keys must be string, int32, int64 or bool`,
      `${FILE}:5:23: stream type in callback 'Handler': stream<T> is only allowed as an operation parameter or an operation or callback return type`,
      `${FILE}:5:46: 'subscription' in callback 'Handler': subscription is only allowed as an operation return type`,
    ]);
  });
});

describe("feature, error and naming errors", () => {
  test("feature unlocking an unknown operation", () => {
    expect(capabilityErrors("  operation bulkGet()\n  feature BULK unlocks bulkGett")).toEqual([
      `${FILE}:3:24: feature 'BULK' unlocks unknown operation 'bulkGett'`,
    ]);
  });

  test("an operation unlocked by two features", () => {
    expect(capabilityErrors("  operation bulkGet()\n  feature BULK unlocks bulkGet\n  feature QUERY unlocks bulkGet")).toEqual([
      `${FILE}:4:25: operation 'bulkGet' is already unlocked by feature 'BULK' (an operation may be unlocked by at most one feature)`,
    ]);
  });

  test("unknown status", () => {
    expect(capabilityErrors("  error EtagMismatch = ABORT")).toEqual([
      `${FILE}:2:24: unknown status 'ABORT' for error 'EtagMismatch' (expected a gRPC status code: CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED)`,
    ]);
  });

  test("metadata constraints: min, max, oneOf and excludes fit the field and its default", () => {
    const { model, errors } = check({
      [FILE]: withState(`adapter "x" implements state {
  metadata {
    retries: int = 3 min 0 max 10
    wait: duration = "1s" min "1ms" excludes retries
    mode: string = "fast" oneOf "fast", "safe"
    bad: string min 1
    low: int = -1 min 0
    flag: bool oneOf "yes"
    span: int min 5 max 1
    solo: int excludes nope
  }
}`),
    });
    expect(errors).toEqual([
      `${FILE}:10:21: 'min' of metadata field 'bad' needs an int, number or duration field, not string`,
      `${FILE}:11:16: the default of metadata field 'low' breaks its own min, max, oneOf or pattern`,
      `${FILE}:12:22: 'oneOf' of metadata field 'flag' needs a string field, not bool`,
      `${FILE}:13:25: metadata field 'span' has 'max' below 'min'`,
      `${FILE}:14:24: metadata field 'solo' excludes 'nope', which adapter "x" does not declare`,
    ]);
    const fields = Object.fromEntries(model.adapters[0]!.metadata.map((f) => [f.name, f]));
    expect(fields.retries).toMatchObject({ min: 0, max: 10, excludes: [] });
    expect(fields.wait).toMatchObject({ min: 1, excludes: ["retries"] });
    expect(fields.mode).toMatchObject({ oneOf: ["fast", "safe"] });
  });

  test("metadata pattern and deprecated names: a valid regex on a string field, matched by its default; old names are keys like any other", () => {
    const { model, errors } = check({
      [FILE]: withState(`adapter "x" implements state {
  metadata {
    prefix: string = "app" pattern "^[a-z]+$" deprecated "keyPrefixOld"
    broken: string pattern "(unclosed"
    count: int pattern "^1$"
    label: string = "Upper" pattern "^[a-z]+$"
    host: string deprecated "prefix" deprecated " "
    other: string deprecated "KEYPREFIXOLD"
  }
}`),
    });
    expect(errors).toEqual([
      `${FILE}:8:28: 'pattern' of metadata field 'broken' is not a valid regular expression: Invalid regular expression: /(unclosed/u: Unterminated group`,
      `${FILE}:9:24: 'pattern' of metadata field 'count' needs a string field, not int`,
      `${FILE}:10:21: the default of metadata field 'label' breaks its own min, max, oneOf or pattern`,
      `${FILE}:11:29: duplicate metadata key 'prefix' in adapter "x" (already used by field 'prefix' at ${FILE}:7:5)`,
      `${FILE}:11:49: deprecated name " " of metadata field 'host' must be non-empty and contain no whitespace`,
      `${FILE}:12:30: duplicate metadata key 'KEYPREFIXOLD' in adapter "x" (already used as a deprecated name of field 'prefix' at ${FILE}:7:58; keys are compared ignoring case)`,
    ]);
    const fields = Object.fromEntries(model.adapters[0]!.metadata.map((f) => [f.name, f]));
    expect(fields.prefix).toMatchObject({ pattern: "^[a-z]+$", deprecated: ["keyPrefixOld"], aliases: [] });
    expect(fields.broken!.pattern).toBeUndefined();
  });

  test("unions and message field constraints: fields of a union are not '?', bounds fit numbers, patterns strings", () => {
    const { model, errors } = check({
      [FILE]: `capability state as StateStore {
  operation transact(ops: list<Op>)
  union Op {
    set: Put
    delete?: string
  }
  union Lonely {
    only: string
  }
  message Put {
    key: string pattern "^[a-z]+$"
    ttl?: int32 min -1
    ratio: double min 0.5 max 0.25
    count: int32 min 1.5
    name: string min 1
    flag: bool pattern "x"
    bad: string pattern "("
    min: int32
    max?: int32
  }
}`,
    });
    expect(errors).toEqual([
      `${FILE}:5:5: field 'delete' of union 'Op' is marked '?'; a union's fields are optional already (exactly one is given)`,
      `${FILE}:7:9: union 'Lonely' in capability 'state' needs at least two fields (exactly one of them is given)`,
      `${FILE}:13:31: field 'ratio' of 'Put' has 'max' below 'min'`,
      `${FILE}:14:22: 'min' of field 'count' of 'Put' (int32) must be an integer`,
      `${FILE}:15:22: 'min' of field 'name' of 'Put' needs an int32, uint32 or double field`,
      `${FILE}:16:24: 'pattern' of field 'flag' of 'Put' needs a string field`,
      `${FILE}:17:25: 'pattern' of field 'bad' of 'Put' is not a valid regular expression: Invalid regular expression: /(/u: Unterminated group`,
    ]);
    const messages = Object.fromEntries(model.capabilities[0]!.messages.map((m) => [m.name, m]));
    expect(messages.Op!.union).toBe(true);
    expect(messages.Put!.union).toBe(false);
    const fields = Object.fromEntries(messages.Put!.fields.map((f) => [f.name, f]));
    expect(fields.key).toMatchObject({ pattern: "^[a-z]+$" });
    expect(fields.ttl).toMatchObject({ min: -1, optional: true });
    expect(fields.min!.min).toBeUndefined();
    expect(fields.max).toMatchObject({ optional: true });
  });

  test("capability metadata: checked once, spliced after each adapter's own; an adapter may not redeclare it", () => {
    const { model, errors } = check({
      [FILE]: `capability state as StateStore {
  operation get(key: string) returns string
  /// Applied by the runtime.
  metadata {
    include Prefix
  }
  metadata {
    extra: int
  }
}
metadata Prefix {
  keyPrefix: string = "none" pattern "^[a-z]*$"
}
adapter "plain" implements state {
}
adapter "own" implements state {
  metadata {
    ttl: int min -1
  }
}
adapter "clash" implements state {
  metadata {
    keyprefix: string
  }
}`,
    });
    expect(errors).toEqual([
      `${FILE}:7:3: capability 'state' has more than one 'metadata' block; declare all its metadata in one`,
      `${FILE}:5:5: duplicate metadata key 'keyPrefix' in adapter "clash" (already used by field 'keyprefix' at ${FILE}:23:5; keys are compared ignoring case)`,
    ].sort());
    const state = model.capabilities[0]!;
    expect(state.metadata.map((f) => f.name)).toEqual(["keyPrefix", "extra"]);
    const byType = Object.fromEntries(model.adapters.map((a) => [a.type, a.metadata.map((f) => f.name)]));
    expect(byType).toEqual({ plain: ["keyPrefix", "extra"], own: ["ttl", "keyPrefix", "extra"], clash: ["keyprefix", "keyPrefix", "extra"] });
  });

  test("metadata bounds by another field: a field of the same block and type, not itself", () => {
    const { model, errors } = check({
      [FILE]: withState(`metadata Backoff {
  first: duration = "1s"
  most: duration = "10s" min first
  stray: duration max nowhere
  least: duration = "1ms" min first
}
adapter "x" implements state {
  metadata {
    include Backoff
    count: int max limit
    limit: int
    ratio: number min count
    self: int min self
  }
}`),
    });
    expect(errors).toEqual([
      `${FILE}:8:23: metadata field 'stray' is bounded by 'nowhere', which metadata group 'Backoff' does not declare`,
      `${FILE}:9:31: the default of metadata field 'least' breaks its own min 'first' (whose default it is compared with)`,
      `${FILE}:16:23: metadata field 'ratio' (number) is bounded by 'count', an int; bound a field by one of the same type`,
      `${FILE}:17:19: 'min' of metadata field 'self' names the field itself`,
    ]);
    const fields = Object.fromEntries(model.adapters[0]!.metadata.map((f) => [f.name, f]));
    expect(fields.most).toMatchObject({ minField: "first" });
    expect(fields.count).toMatchObject({ maxField: "limit" });
  });

  test("requiredWhen names a field of the block and a value it can take; not on a required or defaulted field", () => {
    const { model, errors } = check({
      [FILE]: withState(`adapter "x" implements state {
  metadata {
    mode: string = "none" oneOf "none", "password"
    user: string requiredWhen mode "password"
    pass: string requiredWhen mode "secret"
    port: int requiredWhen nowhere 1
    name: string = "n" requiredWhen mode "password"
    self: string requiredWhen self "x"
  }
}`),
    });
    expect(errors).toEqual([
      `${FILE}:9:36: metadata field 'pass' is required when 'mode' is "secret", a value 'mode' cannot take`,
      `${FILE}:10:28: metadata field 'port' is required when 'nowhere' is 1, which adapter "x" does not declare`,
      `${FILE}:11:24: metadata field 'name' is required or has a default, so 'requiredWhen' would never apply`,
      `${FILE}:12:31: 'requiredWhen' of metadata field 'self' names the field itself`,
    ]);
    const fields = Object.fromEntries(model.adapters[0]!.metadata.map((f) => [f.name, f]));
    expect(fields.user).toMatchObject({ requiredWhen: { field: "mode", value: "password" } });
  });

  test("shared errors: status, suffix, naming and duplicates across files", () => {
    const { model, errors } = check({
      "spec/components/errors.cap": `/// Out of reach.
error Unavailable = UNAVAILABLE
error Gone = GONE
error NotFoundError = NOT_FOUND`,
      "spec/components/more.cap": "error Unavailable = UNAVAILABLE\nerror lower = INTERNAL",
    });
    expect(errors).toEqual([
      "spec/components/errors.cap:3:14: unknown status 'GONE' for error 'Gone' (expected a gRPC status code: CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED)",
      "spec/components/errors.cap:4:7: error name 'NotFoundError' ends in 'Error'; the generated class adds it (write 'NotFound')",
      "spec/components/more.cap:1:7: duplicate shared error 'Unavailable' (first declared at spec/components/errors.cap:2:7)",
      "spec/components/more.cap:2:7: error name 'lower' must be UpperCamelCase (letters and digits, starting uppercase), like 'GetRequest'",
    ]);
    expect(model.errors.map((e) => `${e.name}=${e.status} ${JSON.stringify(e.doc)}`)).toEqual(['Unavailable=UNAVAILABLE "Out of reach."', 'lower=INTERNAL ""']);
  });

  test("an operation parameter may not be named 'context' (every operation receives the call's context last)", () => {
    expect(capabilityErrors("  operation get(key: string, context: string)")).toEqual([
      `${FILE}:2:30: parameter name 'context' in operation 'get' is taken by the call's context every operation receives`,
    ]);
  });

  test("a capability may not be named 'errors' (the shared errors' module)", () => {
    expect(check({ [FILE]: "capability errors as Errors {}" }).errors).toEqual([
      `${FILE}:1:12: capability name 'errors' is taken by the module of the shared errors`,
    ]);
  });

  test("naming rules", () => {
    const errors = check({
      [FILE]: `capability State as stateStore {
  operation Get()
  feature etag
  message getRequest { Key: string }
  enum Mode { eventual }
}`,
    }).errors;
    expect(errors).toEqual([
      `${FILE}:1:12: capability name 'State' must be lowerCamelCase (letters and digits, starting lowercase), like 'bulkGet'`,
      `${FILE}:1:21: interface name 'stateStore' must be UpperCamelCase (letters and digits, starting uppercase), like 'GetRequest'`,
      `${FILE}:2:13: operation name 'Get' must be lowerCamelCase (letters and digits, starting lowercase), like 'bulkGet'`,
      `${FILE}:3:11: feature name 'etag' must be UPPER_SNAKE_CASE, like 'DEAD_LETTER'`,
      `${FILE}:4:11: message name 'getRequest' must be UpperCamelCase (letters and digits, starting uppercase), like 'GetRequest'`,
      `${FILE}:4:24: field name 'Key' must be lowerCamelCase (letters and digits, starting lowercase), like 'bulkGet'`,
      `${FILE}:5:15: enum value 'eventual' must be UPPER_SNAKE_CASE, like 'DEAD_LETTER'`,
    ]);
  });
});

describe("duplicate names", () => {
  test("inside a capability", () => {
    const errors = capabilityErrors(
      [
        "  operation get()",
        "  operation get()",
        "  feature ETAG",
        "  feature ETAG",
        "  message Item { key: string key: string }",
        "  enum Item { A A }",
        "  error Item = ABORTED",
        "  callback StateStore()",
        "  operation set(a: string, a: string)",
      ].join("\n"),
    );
    expect(errors).toEqual([
      `${FILE}:3:13: duplicate operation 'get' in capability 'state' (first declared at ${FILE}:2:13)`,
      `${FILE}:5:11: duplicate feature 'ETAG' in capability 'state' (first declared at ${FILE}:4:11)`,
      `${FILE}:6:30: duplicate field 'key' in message 'Item' (first declared at ${FILE}:6:18)`,
      `${FILE}:7:8: enum 'Item' in capability 'state' reuses the name of message 'Item' declared at ${FILE}:6:11 (messages, enums, callbacks, errors and the interface share one namespace)`,
      `${FILE}:7:17: duplicate enum value 'A' in enum 'Item' (first declared at ${FILE}:7:15)`,
      `${FILE}:8:9: error 'Item' in capability 'state' reuses the name of message 'Item' declared at ${FILE}:6:11 (messages, enums, callbacks, errors and the interface share one namespace)`,
      `${FILE}:9:12: callback 'StateStore' in capability 'state' reuses the name of interface 'StateStore' declared at ${FILE}:1:21 (messages, enums, callbacks, errors and the interface share one namespace)`,
      `${FILE}:10:28: duplicate parameter 'a' in operation 'set' (first declared at ${FILE}:10:17)`,
    ]);
  });

  test("across files: capabilities, interface names, adapters, metadata groups", () => {
    const errors = check({
      "spec/components/a.cap": withState(`adapter "redis" implements state {}\nmetadata Conn { host: string }\n`),
      "spec/components/b.cap": `capability state as Other {}\ncapability lock as StateStore {}\nadapter "redis" implements state {}\nmetadata Conn { port: int }\n`,
    }).errors;
    expect(errors).toEqual([
      `spec/components/b.cap:1:12: duplicate capability 'state' (first declared at spec/components/a.cap:1:12)`,
      `spec/components/b.cap:2:20: duplicate interface name 'StateStore' (first declared at spec/components/a.cap:1:21)`,
      `spec/components/b.cap:3:9: duplicate adapter "redis" for capability 'state' (first declared at spec/components/a.cap:5:9)`,
      `spec/components/b.cap:4:10: duplicate metadata group 'Conn' (first declared at spec/components/a.cap:6:10)`,
    ]);
  });

  test("metadata keys after includes and aliases, compared ignoring case", () => {
    const errors = check({
      [FILE]: withState(`metadata Conn {
  redisHost: string alias "host"
}
adapter "redis" implements state {
  metadata {
    include Conn
    host: string
    password: string alias "PASSWORD"
    enableTLS: bool alias "enabletls"
  }
}
`),
    }).errors;
    expect(errors).toEqual([
      `${FILE}:11:5: duplicate metadata key 'host' in adapter "redis" (already used as an alias of field 'redisHost' at ${FILE}:6:27)`,
      `${FILE}:12:28: duplicate metadata key 'PASSWORD' in adapter "redis" (already used by field 'password' at ${FILE}:12:5; keys are compared ignoring case)`,
      `${FILE}:13:27: duplicate metadata key 'enabletls' in adapter "redis" (already used by field 'enableTLS' at ${FILE}:13:5; keys are compared ignoring case)`,
    ]);
  });

  test("a clash inside an included group is reported once, at the group", () => {
    const errors = check({
      [FILE]: withState(`metadata Conn {
  host: string
  host: string
}
adapter "redis" implements state {
  metadata { include Conn }
}
adapter "in-memory" implements state {
  metadata { include Conn }
}
`),
    }).errors;
    expect(errors).toEqual([`${FILE}:7:3: duplicate metadata key 'host' in metadata group 'Conn' (already used by field 'host' at ${FILE}:6:3)`]);
  });

  test("an rpc served twice", () => {
    const errors = check({
      [FILE]: `capability state as StateStore {
  serves Runtime.GetState, Runtime.GetState
}
capability lock as LockStore {
  serves spec.proto.runtime.v1.Runtime.GetState
}
`,
    }).errors;
    expect(errors).toEqual([
      `${FILE}:2:28: capability 'state' already serves rpc 'spec.proto.runtime.v1.Runtime.GetState' (at ${FILE}:2:10)`,
      `${FILE}:5:10: rpc 'spec.proto.runtime.v1.Runtime.GetState' is already served by capability 'state' (at ${FILE}:2:10); an rpc may be served by one capability only`,
    ]);
  });
});

describe("serves errors", () => {
  test("unknown rpc: missing method, missing service, not Service.Method", () => {
    expect(capabilityErrors("  serves Runtime.GetStat, Runtim.GetState, GetState")).toEqual([
      `${FILE}:2:10: serves unknown rpc 'Runtime.GetStat' (service 'spec.proto.runtime.v1.Runtime' has no method 'GetStat')`,
      `${FILE}:2:27: serves unknown rpc 'Runtim.GetState' (no service 'Runtim' in the loaded protos)`,
      `${FILE}:2:44: serves entry 'GetState' must name an rpc as Service.Method (like Runtime.GetState)`,
    ]);
  });

  test("a simple service name matching two services must be written in full", () => {
    const { errors } = check({ [FILE]: "capability state as StateStore {\n  serves Runtime.GetState\n}\n" }, runtimeRegistry("spec.proto.extension.v1"));
    expect(errors).toEqual([
      `${FILE}:2:10: serves ambiguous rpc 'Runtime.GetState' (services named 'Runtime': spec.proto.extension.v1.Runtime, spec.proto.runtime.v1.Runtime; write the full name)`,
    ]);
  });
});

describe("adapter and metadata errors", () => {
  test("unknown capability, unknown or repeated feature, bad type name, repeated blocks", () => {
    const errors = check({
      [FILE]: withState(`adapter "redis" implements stat {}
adapter "Redis Cluster" implements state {
  features ETAGS, ETAG, ETAG
  features ETAG
  metadata {}
  metadata {}
}
`),
    }).errors;
    expect(errors).toEqual([
      `${FILE}:5:28: adapter "redis" implements unknown capability 'stat'`,
      `${FILE}:6:9: adapter type "Redis Cluster" must be lowercase letters and digits, separated by single '.', '-' or '_', like "in-memory" or "local.file"`,
      `${FILE}:7:12: adapter "Redis Cluster" lists unknown feature 'ETAGS' (capability 'state' declares ETAG)`,
      `${FILE}:7:25: adapter "Redis Cluster" lists feature 'ETAG' twice`,
      `${FILE}:8:3: adapter "Redis Cluster" has more than one 'features' list; list all its features in one`,
      `${FILE}:8:12: adapter "Redis Cluster" lists feature 'ETAG' twice`,
      `${FILE}:10:3: adapter "Redis Cluster" has more than one 'metadata' block; declare all its metadata in one`,
    ]);
  });

  test("metadata field of unknown type", () => {
    const errors = check({ [FILE]: withState(`metadata Conn {\n  redisDB: integer = 0\n}\n`) }).errors;
    expect(errors).toEqual([`${FILE}:6:12: metadata field 'redisDB' has unknown type 'integer' (expected string, bool, int, number or duration)`]);
  });

  test("bad default for the type", () => {
    const errors = check({
      [FILE]: withState(`metadata Conn {
  redisDB: int = "0"
  poolSize: int = 1.5
  ratio: number = "0.5"
  enableTLS: bool = 1
  host: string = true
  dialTimeout: duration = "5 s"
  readTimeout: duration = 100
  writeTimeout: duration = "1m30s"
}
`),
    }).errors;
    expect(errors).toEqual([
      `${FILE}:6:18: metadata field 'redisDB' of type int has default "0", expected an integer`,
      `${FILE}:7:19: metadata field 'poolSize' of type int has default 1.5, expected an integer`,
      `${FILE}:8:19: metadata field 'ratio' of type number has default "0.5", expected a number`,
      `${FILE}:9:21: metadata field 'enableTLS' of type bool has default 1, expected true or false`,
      `${FILE}:10:18: metadata field 'host' of type string has default true, expected a string`,
      `${FILE}:11:27: metadata field 'dialTimeout' of type duration has default "5 s", expected a duration string such as "5s", "100ms" or "1m30s"`,
      `${FILE}:12:27: metadata field 'readTimeout' of type duration has default 100, expected a duration string such as "5s", "100ms" or "1m30s"`,
    ]);
  });

  test("required with a default, and repeated modifiers", () => {
    const errors = check({ [FILE]: withState(`metadata Conn {\n  appId: string = "app" required\n  key: string sensitive sensitive\n}\n`) }).errors;
    expect(errors).toEqual([
      `${FILE}:6:25: metadata field 'appId' is required and has a default (a required field cannot have a default; remove one)`,
      `${FILE}:7:25: 'sensitive' is written twice on metadata field 'key'`,
    ]);
  });

  test("unknown include", () => {
    const errors = check({ [FILE]: withState(`adapter "redis" implements state {\n  metadata { include RedisConection }\n}\n`) }).errors;
    expect(errors).toEqual([
      `${FILE}:6:22: unknown metadata group 'RedisConection' in include (no 'metadata RedisConection { ... }' in any .cap file)`,
    ]);
  });

  test("include cycle, reported once", () => {
    const errors = check({
      [FILE]: withState(`metadata A {\n  include B\n  a: string\n}\nmetadata B {\n  include A\n}\nadapter "redis" implements state {\n  metadata { include A }\n}\n`),
    }).errors;
    expect(errors).toEqual([`${FILE}:10:11: include cycle: A -> B -> A`]);
  });
});

describe("reporting", () => {
  test("errors from all files are collected and sorted by file, line, column", () => {
    const { errors } = check({
      "spec/components/z.cap": "capability zed as Zed {\n  operation a(x: Nope)\n}\n",
      "spec/components/a.cap": "capability abc as Abc {\n  operation b() returns Nope\n  operation a(x: Nope)\n}\n",
    });
    expect(errors.map((e) => e.slice(0, e.indexOf(": ")))).toEqual(["spec/components/a.cap:2:25", "spec/components/a.cap:3:18", "spec/components/z.cap:2:18"]);
  });

  test("loadIdl throws one AggregateSpecError listing every error, one per line", () => {
    const attempt = () =>
      loadIdl(
        [
          { file: "spec/components/a.cap", text: "capability a as A {\n  operation x(y: Y)\n}\n" },
          { file: "spec/components/b.cap", text: "capability b as B {\n  error Bad = NOPE\n}\n" },
        ],
        runtimeRegistry(),
      );
    expect(attempt).toThrow(AggregateSpecError);
    try {
      attempt();
    } catch (e) {
      const aggregate = e as AggregateSpecError;
      expect(aggregate.errors.every((x) => x instanceof SpecError)).toBe(true);
      expect(aggregate.errors[0]).toMatchObject({ file: "spec/components/a.cap", line: 2, column: 18 });
      expect(aggregate.message.split("\n")).toEqual([
        "spec/components/a.cap:2:18: unknown type 'Y' in operation 'x' (no message, enum or callback of that name in capability 'a')",
        expect.stringMatching(/^spec\/components\/b\.cap:2:15: unknown status 'NOPE' for error 'Bad'/),
      ]);
    }
  });

  test("loadIdl reports the first syntax error of every file that does not parse", () => {
    expect(() =>
      loadIdl(
        [
          { file: "spec/components/b.cap", text: "capability b as B {" },
          { file: "spec/components/a.cap", text: "capabilty a as A {}" },
        ],
        runtimeRegistry(),
      ),
    ).toThrow("spec/components/a.cap:1:1: expected 'capability', 'adapter', 'metadata' or 'error', found 'capabilty'\nspec/components/b.cap:1:20: expected '}', found end of file");
  });
});
