import type { NextIdRequest } from "@ottavo/generated/components/sequencer";
import { FailedPreconditionError } from "@ottavo/generated/components/errors";
import { defineEtcdSequencerAdapter, etcdSequencerFeatures, type EtcdSequencer as Contract } from "@ottavo/generated/components/adapters/etcd";
import { readBiggerThan } from "@ottavo/adapter-kit";
import { EtcdConnection } from "./etcd-connection";

/**
 * The "etcd" sequencer: the key <prefix><key> holds the last id handed out, as
 * a decimal. nextId reads it and writes id + 1 in a transaction that succeeds
 * only if the key has not changed since the read (compare-and-swap on its mod
 * revision), retrying on a lost race, so ids are unique and increasing across
 * every runtime on the cluster. A key Layotto's etcd sequencer wrote (an empty
 * value whose version is the last id) continues from that version. biggerThan
 * floors raise a key below them at start, by the same transaction.
 */
export class EtcdSequencer implements Contract {
  readonly features = new Set(etcdSequencerFeatures);

  constructor(private readonly connection: EtcdConnection) {}

  nextId(request: NextIdRequest): Promise<bigint> {
    return this.advance(request.key, (last) => last + 1n);
  }

  /** Raises each key below its floor to the floor (keys as stored); called once at start. */
  async applyFloors(floors: ReadonlyMap<string, bigint>): Promise<void> {
    for (const [key, floor] of floors) await this.advance(key, (last) => (last < floor ? floor : last));
  }

  /** Writes next(last) over the key's last id, atomically; answers what it wrote. */
  private async advance(key: string, next: (last: bigint) => bigint): Promise<bigint> {
    const stored = `${this.connection.prefix}${key}`;
    const { client } = this.connection;
    return this.connection.call(async () => {
      for (;;) {
        const found = (await client.get(stored).exec()).kvs[0];
        const last = found === undefined ? 0n : lastId(stored, found.value.toString("utf8"), found.version);
        const id = next(last);
        if (id === last && found !== undefined) return id;
        const written = await client
          .if(stored, "Mod", "==", found?.mod_revision ?? "0")
          .then(client.put(stored).value(id.toString()))
          .commit();
        if (written.succeeded) return id;
      }
    });
  }

  health(): Promise<void> {
    return this.connection.health();
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/** The "etcd" sequencer adapter, as the registry holds it. */
export const etcdSequencerAdapter = defineEtcdSequencerAdapter(async (metadata, context) => {
  const sequencer = new EtcdSequencer(EtcdConnection.open(metadata, metadata.keyPrefixPath, context));
  try {
    await sequencer.applyFloors(readBiggerThan(context));
  } catch (error) {
    await sequencer.close();
    throw error;
  }
  return sequencer;
});

/** The last id a key holds: its decimal value, or (Layotto's layout, empty value) its version. */
function lastId(key: string, value: string, version: string): bigint {
  if (value === "") return BigInt(version);
  if (!/^\d{1,19}$/.test(value)) throw new FailedPreconditionError(`etcd key '${key}' holds '${value.slice(0, 40)}', not a sequence id`);
  return BigInt(value);
}
