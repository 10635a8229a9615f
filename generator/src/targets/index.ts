import type { Target } from "./target";
import { adaptersTarget } from "./adapters-target";
import { clientTarget } from "./client-target";
import { codecsTarget } from "./codecs-target";
import { componentsTarget } from "./components-target";
import { dispatchTarget } from "./dispatch-target";
import { docsTarget } from "./docs-target";
import { messagesTarget } from "./messages-target";
import { packageTarget } from "./package-target";
import { registryTarget } from "./registry-target";
import { serverTarget } from "./server-target";
import { typescriptSdkTarget } from "./sdk/typescript-sdk-target";
import { goSdkTarget } from "./sdk/go-sdk-target";
import { pythonSdkTarget } from "./sdk/python-sdk-target";
import { wasmTarget } from "./wasm-target";

/** Every output of `make gen`, in the order they run. */
export const targets: readonly Target[] = [
  packageTarget,
  messagesTarget,
  componentsTarget,
  adaptersTarget,
  registryTarget,
  serverTarget,
  dispatchTarget,
  clientTarget,
  codecsTarget,
  wasmTarget,
  docsTarget,
  typescriptSdkTarget,
  goSdkTarget,
  pythonSdkTarget,
];
