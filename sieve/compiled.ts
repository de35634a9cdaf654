// The compiled form of a script: plain data (JSON and structured-clone safe) that the interpreter walks without
// parsing again; it is cached by the store and sent to the worker threads of the run pool.

export type CompiledValue = string | number | string[];

/** A command or test after validation: tags by name (match type, comparator, ... normalised), positional values. */
export interface CompiledNode {
  readonly id: string;
  readonly line: number;
  /** `match`, `relation`, `comparator`, `addresspart`, `modifiers` and the other tags by name (true: no parameter). */
  tags: Record<string, CompiledValue | true>;
  args: CompiledValue[];
  tests: CompiledNode[];
  block: CompiledNode[] | null;
}

/** One script as compiled, with the scripts it includes (RFC 6609) compiled alongside. */
export interface CompiledScript {
  readonly name: string;
  /** The capabilities the script required. */
  readonly requires: readonly string[];
  readonly commands: readonly CompiledNode[];
  /** Included scripts by "personal:NAME" / "global:NAME" (the whole include tree, each once). */
  readonly included: Readonly<Record<string, CompiledIncluded | null>>;
  /** Warnings Pigeonhole would print on compiling ("NAME: line N: warning: ..."). */
  readonly warnings: readonly string[];
}

/** An included script: its own commands and requires (it has its own variables scope). */
export interface CompiledIncluded {
  readonly name: string;
  readonly requires: readonly string[];
  readonly commands: readonly CompiledNode[];
}
