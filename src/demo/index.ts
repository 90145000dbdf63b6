// "synack/demo": the demo scenarios `synack demo` runs (two stacks on a scripted link, virtual time),
// for drawing or checking a scenario from code: runDemo({ scenario: 'loss', loss: 0.2, seed: 7 }).
export { runDemo, scenarioNames, SCENARIOS } from './scenarios.js';
export type { DemoOptions, DemoResult, SideSummary } from './scenarios.js';
export { CLIENT_ADDR, SERVER_ADDR } from './world.js';
export type { WorldOptions, CapturedPacket } from './world.js';
