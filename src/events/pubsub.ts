import { createPubSub, type PubSub } from "graphql-yoga";
import type { PubSubTopics } from "./topics";

export type EventPubSub = PubSub<PubSubTopics>;

export function createEventPubSub(): EventPubSub {
  return createPubSub<PubSubTopics>();
}
