import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { execute, type ExecutionResult, validate } from "graphql";
import { createContext, type Services } from "./context";
import { schema } from "./schema";

/**
 * Runs a typed GraphQL operation in-process, as `customerId` (the REST shim's door into GraphQL).
 * Validated once against the schema; a GraphQL error (unexpected by definition) is thrown.
 */
export function preparedOperation<TData, TVariables extends Record<string, unknown>>(document: TypedDocumentNode<TData, TVariables>) {
  const problems = validate(schema, document);
  if (problems.length > 0) throw new Error(`invalid operation: ${problems.map((p) => p.message).join("; ")}`);
  return async (services: Services, customerId: string | undefined, variables: TVariables): Promise<TData> => {
    const result = (await execute({
      schema,
      document,
      variableValues: variables,
      contextValue: createContext(services, customerId ? { customerId } : null),
    })) as ExecutionResult<TData>;
    if (result.errors?.length) throw result.errors[0]!.originalError ?? result.errors[0]!;
    return result.data!;
  };
}
