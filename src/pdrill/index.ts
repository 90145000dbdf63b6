// Public entry of the packetdrill library: parse scripts, resolve their options, match packets, check timing.

export type * from './ast.js';
export { parseScript, formatParseError, flagsToScript } from './parse.js';
export { lex, type Token, type TokenKind } from './lexer.js';
export { resolveConfig, parseOptionArgs, DEFAULT_CONFIG, type PdrillConfig, type IpVersion } from './config.js';
export {
  SeqSpace,
  SegmentAggregator,
  matchOutbound,
  buildInbound,
  decodeOptionList,
  encodeOptionList,
  formatOptions,
  formatPacketLine,
  DEFAULT_MATCH_CONFIG,
  type MatchConfig,
  type MatchResult,
  type MismatchField,
  type InboundResult,
  type AggregateResult,
  type WireOption,
} from './match.js';
export { ScriptTimeline, withinTolerance, formatSecs, DEFAULT_TOLERANCE_USECS, type TimingConfig, type ScheduledTime, type ScheduleResult } from './timing.js';
export { runScript, formatFailure, inboundPacket, PDRILL_LINUX_TCP, type RunScriptOptions, type RunScriptResult, type ScriptFailure, type SkippedEvent } from './runner.js';
export { SocketTable, SyscallError, evalInt, type SyscallEnv, type Call, type Outcome, type OutCheck } from './syscalls.js';
export { LINUX_SYMBOLS, ERRNO, describeErrno, symbolValue, errnoName, formatPollFlags } from './linux.js';
