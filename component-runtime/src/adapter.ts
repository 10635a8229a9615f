import type { Component } from "./component";
import { parseMetadata, type MetadataFieldSpec, type RawMetadata } from "./metadata";
import { guardRequests, type RequestChecks } from "./request-checks";

/** What the kernel tells an adapter about the component it is creating. */
export interface AdapterContext {
  /** The component's name in the config, e.g. "state_demo". */
  readonly componentName: string;
  /** The app this runtime serves; adapters scope keys by it where the capability says so. */
  readonly appId: string;
  /** The folder of the config file, for relative paths in metadata. */
  readonly configDir: string;
  /** Settings the config gives beside metadata (Layotto's biggerThan, for one). */
  readonly settings: Readonly<Record<string, unknown>>;
}

/** How one adapter type of one capability is declared and created; found by capability and type. */
export interface AdapterFactory<K extends string = string, C extends Component<string> = Component<string>> {
  readonly capability: K;
  /** The type name a config uses, e.g. "in-memory", "redis", "local.file". */
  readonly type: string;
  readonly features: readonly string[];
  readonly metadata: readonly MetadataFieldSpec[];
  /** Validates raw metadata (throws MetadataError) and creates the component. */
  create(raw: RawMetadata, context: AdapterContext): Promise<C>;
}

/**
 * Binds a hand-written create function to its declaration: metadata is parsed and
 * typed before create sees it, the component must report exactly the declared
 * features, no fewer and no more, and each operation's arguments are checked
 * against what the capability declares (requestChecks) before the adapter sees them.
 */
export function defineAdapter<K extends string, C extends Component<string>, M>(declaration: {
  capability: K;
  type: string;
  features: readonly string[];
  metadata: readonly MetadataFieldSpec[];
  /** The capability's generated checks (`stateStoreRequestChecks`, ...). */
  requestChecks?: RequestChecks;
  create(metadata: M, context: AdapterContext): Promise<C>;
}): AdapterFactory<K, C> {
  const { capability, type, features, metadata } = declaration;
  return {
    capability,
    type,
    features,
    metadata,
    async create(raw, context) {
      const component = await declaration.create(parseMetadata<M>(raw, metadata), context);
      const reported = [...component.features].sort().join(", ");
      const declared = [...features].sort().join(", ");
      if (reported !== declared) {
        await component.close();
        throw new Error(
          `adapter '${type}' (${capability}) reports features [${reported}] but declares [${declared}] in spec/components`,
        );
      }
      return guardRequests(component, declaration.requestChecks);
    },
  };
}

/** The TypeScript value of one metadata type. */
interface MetadataValueTypes {
  string: string;
  bool: boolean;
  int: number;
  number: number;
  duration: number;
}

/** A field's value: a oneOf string is the union of its values. */
type FieldValue<F extends MetadataFieldSpec> = F extends { readonly oneOf: readonly (infer V)[] } ? V : MetadataValueTypes[F["type"]];

/** Fields always present after parsing: required ones and those with a default. */
type PresentField<F extends MetadataFieldSpec> = F extends { readonly required: true } ? F : F extends { readonly default: unknown } ? F : never;

/**
 * The typed metadata a field table declares, as the generated `<Adapter>Metadata`
 * interfaces are typed from spec/components: present fields are required
 * properties, the rest optional.
 */
export type MetadataOf<Fields extends readonly MetadataFieldSpec[]> = {
  readonly [F in PresentField<Fields[number]> as F["name"]]: FieldValue<F>;
} & {
  readonly [F in Exclude<Fields[number], PresentField<Fields[number]>> as F["name"]]?: FieldValue<F>;
};

/**
 * The typed registration of an adapter declared outside spec/components (a
 * vendor's): its metadata schema is a field table written `as const`, from which
 * the metadata `create` receives is typed, and which the runtime validates exactly
 * as it validates the spec's (types, defaults, aliases, min, max, oneOf, excludes).
 * The registry takes the factory like any other; the conformance suite proves it.
 */
export function defineVendorAdapter<K extends string, C extends Component<string>, const Fields extends readonly MetadataFieldSpec[]>(declaration: {
  capability: K;
  type: string;
  features: readonly string[];
  metadata: Fields;
  /** The capability's generated checks, so a vendor's component is spared invalid calls too. */
  requestChecks?: RequestChecks;
  create(metadata: MetadataOf<Fields>, context: AdapterContext): Promise<C>;
}): AdapterFactory<K, C> {
  return defineAdapter<K, C, MetadataOf<Fields>>(declaration);
}
