// The part of the WebAssembly JavaScript API the wasm host uses. TypeScript declares
// it only in lib.dom, which a Node program must not pull in, and @types/node 20 does
// not declare it; Node 20 provides all of it at run time. Modules that use it import
// this file, so every project that compiles them (tests included) sees the declarations.
declare global {
  namespace WebAssembly {
    type ImportValue = ((...args: never[]) => unknown) | Memory | Global | Table | number;
    type Imports = Record<string, Record<string, ImportValue>>;
    type ExportValue = ((...args: never[]) => unknown) | Memory | Global | Table;
    type Exports = Record<string, ExportValue>;

    interface ModuleImportDescriptor {
      readonly module: string;
      readonly name: string;
      readonly kind: "function" | "table" | "memory" | "global";
    }

    interface ModuleExportDescriptor {
      readonly name: string;
      readonly kind: "function" | "table" | "memory" | "global";
    }

    class Module {
      constructor(bytes: ArrayBufferView | ArrayBuffer);
      static imports(module: Module): ModuleImportDescriptor[];
      static exports(module: Module): ModuleExportDescriptor[];
    }

    class Instance {
      constructor(module: Module, imports?: Imports);
      readonly exports: Exports;
    }

    class Memory {
      constructor(descriptor: { initial: number; maximum?: number });
      readonly buffer: ArrayBuffer;
      grow(pages: number): number;
    }

    class Global {
      value: unknown;
    }

    class Table {
      readonly length: number;
    }

    class CompileError extends Error {}
    class LinkError extends Error {}
    class RuntimeError extends Error {}

    function compile(bytes: ArrayBufferView | ArrayBuffer): Promise<Module>;
    function validate(bytes: ArrayBufferView | ArrayBuffer): boolean;
  }
}

export {};
