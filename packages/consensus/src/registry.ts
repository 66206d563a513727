import { InvalidArgumentError } from '@safechain/core';
import type { JsonValue } from './canonical-json.js';
import { encodeChainSpec, ENGINE_NAME_PATTERN, type ChainSpec } from './chain-spec.js';
import type { Consensus } from './consensus.js';
import { DuplicateConsensusEngineError, UnknownConsensusEngineError } from './errors.js';
import { DEFAULT_MAX_FUTURE_DRIFT_MS } from './header-rules.js';
import { poaEngine } from './poa.js';
import { powEngine } from './pow.js';
import { singleEngine } from './single.js';

/**
 * The consensus registry: chooses an engine by the name a chain spec gives (`consensus.engine`) and builds it from
 * the spec's options. The three built-in engines are `single`, `poa` and `pow`; a company adds its own by
 * registering a definition (see the README, "Adding an engine").
 */

/** An engine's options: the spec's `consensus` object without `engine`. */
export type EngineOptions = { readonly [option: string]: JsonValue };

/** Chain-wide settings an engine receives besides its own options. */
export interface ConsensusEngineContext {
  /** The chain spec's `maxFutureDriftMs`, or its default 15 000. */
  readonly maxFutureDriftMs: number;
  /** The chain spec's `name`. */
  readonly chainName: string;
}

/** A consensus engine as the registry knows it. */
export interface ConsensusEngineDefinition {
  /** The name chain specs use; lower-case letters, digits and dashes, starting with a letter. */
  readonly name: string;
  /**
   * Builds the engine. `options` comes from a genesis header: untrusted until checked, so check every option and
   * refuse unknown ones with InvalidEngineOptionError.
   */
  create(options: EngineOptions, context: ConsensusEngineContext): Consensus;
  /** Difficulty of the genesis header. 1 when absent. */
  genesisDifficulty?(options: EngineOptions): bigint;
}

function splitSpec(spec: ChainSpec): { readonly engine: string; readonly options: EngineOptions; readonly context: ConsensusEngineContext } {
  encodeChainSpec(spec); // full validation: shape, JSON values, size
  const { engine, ...options } = spec.consensus;
  return {
    engine,
    options,
    context: { maxFutureDriftMs: spec.maxFutureDriftMs ?? DEFAULT_MAX_FUTURE_DRIFT_MS, chainName: spec.name },
  };
}

export class ConsensusRegistry {
  readonly #engines = new Map<string, ConsensusEngineDefinition>();

  /** A registry holding the built-in engines `single`, `poa` and `pow`. */
  static withBuiltins(): ConsensusRegistry {
    return new ConsensusRegistry().register(singleEngine).register(poaEngine).register(powEngine);
  }

  /**
   * Adds an engine.
   * @throws InvalidArgumentError (core) on a malformed definition or name; DuplicateConsensusEngineError when the
   *   name is taken.
   */
  register(definition: ConsensusEngineDefinition): this {
    if (typeof definition !== 'object' || definition === null || typeof definition.create !== 'function') {
      throw new InvalidArgumentError('definition: expected { name, create(options, context) }');
    }
    if (typeof definition.name !== 'string' || !ENGINE_NAME_PATTERN.test(definition.name)) {
      throw new InvalidArgumentError(`definition.name: expected a name matching ${ENGINE_NAME_PATTERN}, got ${String(definition.name)}`);
    }
    if (definition.genesisDifficulty !== undefined && typeof definition.genesisDifficulty !== 'function') {
      throw new InvalidArgumentError('definition.genesisDifficulty: expected a function');
    }
    if (this.#engines.has(definition.name)) {
      throw new DuplicateConsensusEngineError(`a consensus engine named "${definition.name}" is already registered`);
    }
    this.#engines.set(definition.name, definition);
    return this;
  }

  /** The registered engine names, in registration order. */
  names(): string[] {
    return [...this.#engines.keys()];
  }

  /** The definition registered under `name`, if any. */
  get(name: string): ConsensusEngineDefinition | undefined {
    return this.#engines.get(name);
  }

  #definition(engine: string): ConsensusEngineDefinition {
    const definition = this.#engines.get(engine);
    if (definition === undefined) throw new UnknownConsensusEngineError(engine, this.names());
    return definition;
  }

  /**
   * The engine a chain spec names, built from its options.
   * @throws InvalidChainSpecError, NonCanonicalChainSpecError or ChainSpecTooLargeError on a bad spec;
   *   UnknownConsensusEngineError; InvalidEngineOptionError (or the engine's own errors) on bad options.
   */
  create(spec: ChainSpec): Consensus {
    const { engine, options, context } = splitSpec(spec);
    return this.#definition(engine).create(options, context);
  }

  /**
   * The genesis difficulty the spec's engine asks for (1 unless the engine says otherwise).
   * @throws as `create`.
   */
  genesisDifficulty(spec: ChainSpec): bigint {
    const { engine, options } = splitSpec(spec);
    return this.#definition(engine).genesisDifficulty?.(options) ?? 1n;
  }
}

const builtins = ConsensusRegistry.withBuiltins();

/**
 * The consensus engine of a chain: the engine `spec.consensus.engine` names, from `registry` (default: the
 * built-in engines), built with the spec's options.
 * @throws as ConsensusRegistry.create.
 */
export function createConsensus(spec: ChainSpec, registry: ConsensusRegistry = builtins): Consensus {
  return registry.create(spec);
}
