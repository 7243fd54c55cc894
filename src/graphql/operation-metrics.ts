import { isAsyncIterable, type Plugin } from "@envelop/core";
import { type DocumentNode, type ExecutionResult, getOperationAST, Kind } from "graphql";

export interface OperationRecord {
  type: string;
  /** A root field the operation selected: bounded by the schema, unlike client-chosen operation names. */
  field: string;
  outcome: "ok" | "error";
}

function rootFields(
  document: DocumentNode,
  operationName: string | null | undefined,
): { type: string; fields: string[] } {
  const operation = getOperationAST(document, operationName);
  if (!operation) return { type: "unknown", fields: [] };
  const fields = operation.selectionSet.selections.flatMap((selection) =>
    selection.kind === Kind.FIELD ? [selection.name.value] : ["(fragment)"],
  );
  return { type: operation.operation, fields: [...new Set(fields)] };
}

/** Tells `record` about each operation executed or subscribed to, per root field, once it has a result. */
export const useOperationMetrics = (record: (operation: OperationRecord) => void): Plugin => {
  const count = (args: { document: DocumentNode; operationName?: string | null }, result: unknown) => {
    const { type, fields } = rootFields(args.document, args.operationName);
    // A stream is counted when it starts; its later events are not operations.
    const outcome = !isAsyncIterable(result) && (result as ExecutionResult).errors?.length ? "error" : "ok";
    for (const field of fields) record({ type, field, outcome });
  };
  return {
    onExecute: ({ args }) => ({ onExecuteDone: ({ result }) => count(args, result) }),
    onSubscribe: ({ args }) => ({ onSubscribeResult: ({ result }) => count(args, result) }),
  };
};
