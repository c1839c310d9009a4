/**
 * The command table. One module per command (or command family); each parses its flags, calls one
 * library function and prints. Add a command by importing it here.
 */
import type { AnyCommand } from '../run.js';
import { dataCommand } from './data.js';
import { evalCommand } from './eval/index.js';
import { extractCommand } from './extract.js';
import { generateCommand } from './generate.js';
import { infoCommand } from './info.js';
import { knockoutCommand } from './knockout.js';
import { reportCommand } from './report.js';
import { trainCommand } from './train.js';

export const commands: AnyCommand[] = [dataCommand, evalCommand, extractCommand, generateCommand, infoCommand, knockoutCommand, reportCommand, trainCommand];
