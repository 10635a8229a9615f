import type { Assignment, PartitionAssigner } from "kafkajs";
import { kafkajs } from "./kafkajs-module";

/**
 * The group protocol name: every member of a group must offer it. Changing it
 * makes old and new runtimes of one app unable to share a group.
 */
export const topicAssignerName = "OttavoTopicRoundRobin";

/**
 * Assigns each topic's partitions round robin among the members that subscribed
 * to that topic, and only those.
 *
 * Each subscription is its own kafkajs consumer, and the subscriptions of one app
 * share its consumer group while naming different topics. kafkajs's own
 * round-robin assigner assumes every member subscribed to the same topics: it
 * deals out the leader's topics to all members, so a member would receive a topic
 * it never asked for while the topics of the others went to nobody. This one
 * reads each member's topics from its metadata, as Kafka's Java assigners do.
 */
export const topicAssigner: PartitionAssigner = ({ cluster }) => ({
  name: topicAssignerName,
  version: 0,

  async assign({ members }) {
    const subscribers = new Map<string, string[]>();
    for (const member of [...members].sort((a, b) => a.memberId.localeCompare(b.memberId))) {
      const metadata = kafkajs().AssignerProtocol.MemberMetadata.decode(member.memberMetadata);
      for (const topic of metadata?.topics ?? []) {
        const list = subscribers.get(topic) ?? [];
        list.push(member.memberId);
        subscribers.set(topic, list);
      }
    }
    // The leader's client knows the partitions of its own topics only.
    await cluster.addMultipleTargetTopics([...subscribers.keys()]);

    const assignments = new Map<string, Assignment>(members.map((m) => [m.memberId, {}]));
    for (const [topic, memberIds] of subscribers) {
      const partitions = cluster
        .findTopicPartitionMetadata(topic)
        .map((p) => p.partitionId)
        .sort((a, b) => a - b);
      partitions.forEach((partition, index) => {
        const assignment = assignments.get(memberIds[index % memberIds.length])!;
        (assignment[topic] ??= []).push(partition);
      });
    }
    return [...assignments].map(([memberId, assignment]) => ({
      memberId,
      memberAssignment: kafkajs().AssignerProtocol.MemberAssignment.encode({ version: 0, assignment, userData: Buffer.alloc(0) }),
    }));
  },

  protocol({ topics }) {
    return {
      name: topicAssignerName,
      metadata: kafkajs().AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    };
  },
});
