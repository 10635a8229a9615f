/**
 * JSON.parse keeps the last of two equal keys in an object, so two components
 * of the same name in Layotto's config.json silently became one. This scans
 * text that JSON.parse accepted and reports every key an object repeats, with
 * its line and column and where it is, e.g. "grpc_config.state".
 */
export interface DuplicateKey {
  readonly key: string;
  /** The keys leading to the object that repeats it, dot-joined ("servers.0.listeners.0...."). */
  readonly path: string;
  readonly line: number;
  readonly col: number;
}

export function findDuplicateKeys(text: string): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  /** One frame per open object or array: the keys seen (objects), the path to it, and the last key or index. */
  const stack: { keys?: Set<string>; path: string[]; next: string; index: number }[] = [];
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\n") {
      line++;
      lineStart = i + 1;
    } else if (c === "{" || c === "[") {
      const parent = stack[stack.length - 1];
      const path = parent === undefined ? [] : [...parent.path, parent.keys ? parent.next : String(parent.index)];
      stack.push({ keys: c === "{" ? new Set() : undefined, path, next: "", index: 0 });
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === ",") {
      const top = stack[stack.length - 1];
      if (top !== undefined && top.keys === undefined) top.index++;
    } else if (c === '"') {
      const start = i;
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      i = end;
      const top = stack[stack.length - 1];
      if (top?.keys === undefined) continue;
      // A string is a key when a ":" follows it (after white space).
      let after = end + 1;
      while (after < text.length && /\s/.test(text[after])) after++;
      if (text[after] !== ":") continue;
      const key = JSON.parse(text.slice(start, end + 1)) as string;
      if (top.keys.has(key)) found.push({ key, path: top.path.join("."), line, col: start - lineStart + 1 });
      top.keys.add(key);
      top.next = key;
    }
  }
  return found;
}
