/**
 * The command table. One module per command (or command family); each parses its flags, calls one
 * library function and prints. Add a command by importing it here.
 */
import type { AnyCommand } from '../run.js';
import { analyzeCommand } from './analyze.js';
import { dataCommand } from './data.js';
import { demoCommand } from './demo.js';
import { evalCommand } from './eval/index.js';
import { extractCommand } from './extract.js';
import { generateCommand } from './generate.js';
import { infoCommand } from './info.js';
import { knockoutCommand } from './knockout.js';
import { patchCommand } from './patch.js';
import { shipCommand } from './ship.js';
import { steerCommand } from './steer.js';
import { reportCommand } from './report.js';
import { trainCommand } from './train.js';

export const commands: AnyCommand[] = [analyzeCommand, dataCommand, demoCommand, evalCommand, extractCommand, generateCommand, infoCommand, knockoutCommand, patchCommand, shipCommand, steerCommand, reportCommand, trainCommand];
