// What a module from outside the tree (config `modules:`) needs from Postern, in one place: the Module
// API's types. Such a module's file default-exports a PosternModule (docs/architecture.md, "The Module
// API"); its config section's schema is a zod 4 schema.
export type { ModuleContext, PosternModule } from './module.js';
export type { ConfigSection, LoadedConfig } from './config.js';
export type { Connection } from '../listeners/connection.js';
export type { Logger } from '../observability/logger.js';
