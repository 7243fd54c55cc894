import { type DocumentNode, execute, type ExecutionResult, parse, validate } from "graphql";
import { createContext, type Services } from "./context";
import { schema } from "./schema";

/** A GraphQL operation parsed and validated once, then run in-process (the REST shim's door into GraphQL). */
export function preparedOperation<TData, TVariables extends Record<string, unknown>>(source: string) {
  const document: DocumentNode = parse(source);
  const problems = validate(schema, document);
  if (problems.length > 0) throw new Error(`invalid operation: ${problems.map((p) => p.message).join("; ")}`);
  return async (services: Services, customerId: string | undefined, variables: TVariables): Promise<TData> => {
    const result = (await execute({
      schema,
      document,
      variableValues: variables,
      contextValue: createContext(services, customerId),
    })) as ExecutionResult<TData>;
    if (result.errors?.length) throw result.errors[0]!.originalError ?? result.errors[0]!;
    return result.data!;
  };
}
