/**
 * Caption tokenisation for the caption metrics.
 *
 * - 'ptb': a JavaScript approximation of coco-caption's PTBTokenizer step (Stanford CoreNLP 3.4.1
 *   `PTBTokenizer -preserveLines -lowerCase`, then removal of the punctuation tokens that
 *   pycocoevalcap lists). On lower-case, single-spaced, punctuation-free text it is the identity.
 * - 'whitespace': the raw whitespace tokens (no lower-casing, nothing removed), the paper's setting.
 *
 * Both return the caption as its tokens joined by single spaces, which is what the scorers receive
 * in coco-caption.
 *
 * Known differences from the Java tokenizer (this is a rule-based approximation, not the JFlex lexer):
 * - Abbreviations: a final period stays attached only to single letters ("j."), dotted acronyms
 *   ("u.s.", "a.m.") and a fixed list (mr, dr, st, etc, inc, ...); Java's list is longer and
 *   context-dependent (e.g. "No." before a number).
 * - "[" and "]" become "-lsb-" / "-rsb-", which pycocoevalcap's list does not drop (as in Java);
 *   "(" ")" "{" "}" are dropped as -LRB- -RRB- -LCB- -RCB- (this assumes those tokens survive
 *   -lowerCase in the form pycocoevalcap's list names them).
 * - "/" and "*" are kept inside tokens as they are (CoreNLP 3.4.1's PTB3 escaping may write "\/").
 * - URLs, e-mail addresses, emoticons, SGML entities, phone numbers, fractions ("1 1/2") and
 *   Unicode symbols get no special treatment; "&amp;" is not decoded.
 * - Assimilations split as in PTB: cannot, gonna, gotta, wanna, gimme, lemme, 'tis, 'twas; Java
 *   knows a few more ("d'ye", "more'n", ...).
 */
export type Tokenization = 'ptb' | 'whitespace';

export const TOKENIZATIONS: readonly Tokenization[] = ['ptb', 'whitespace'];

/** The tokens pycocoevalcap's PTBTokenizer drops (its PUNCTUATIONS list, lower-cased brackets as we emit them). */
const DROPPED = new Set(["''", "'", '``', '`', '-lrb-', '-rrb-', '-lcb-', '-rcb-', '.', '?', '!', ',', ':', '-', '--', '...', ';']);

const BRACKETS = new Map<string, string>([
  ['(', '-lrb-'], [')', '-rrb-'], ['{', '-lcb-'], ['}', '-rcb-'], ['[', '-lsb-'], [']', '-rsb-'],
]);

const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'st', 'jr', 'sr', 'vs', 'etc', 'inc', 'ltd', 'co', 'corp', 'mt',
  'ft', 'gen', 'gov', 'sen', 'rep', 'rev', 'capt', 'lt', 'col', 'sgt', 'jan', 'feb', 'aug', 'sept',
  'oct', 'nov', 'dec', 'approx', 'dept', 'est', 'fig', 'no',
]);

const ASSIMILATIONS = new Map<string, string[]>([
  ['cannot', ['can', 'not']], ['gonna', ['gon', 'na']], ['gotta', ['got', 'ta']], ['wanna', ['wan', 'na']],
  ['gimme', ['gim', 'me']], ['lemme', ['lem', 'me']], ["'tis", ["'t", 'is']], ["'twas", ["'t", 'was']],
]);

/** Separators split out anywhere in a whitespace chunk (commas and colons between digits stay). */
const SEPARATORS = /(\.\.\.|--|[;?!(){}[\]"`]|,(?!\d)|(?<!\d),|:(?!\d)|(?<!\d):)/;

const CLITIC = /^(.+?)(n't|'s|'re|'ve|'ll|'d|'m)$/;

function isAbbreviation(core: string): boolean {
  return /^[a-z]$/.test(core) || /^[a-z](\.[a-z])+$/.test(core) || ABBREVIATIONS.has(core);
}

/** Tokens of one piece that contains no separator: quotes, dashes, $, %, final period, clitics. */
function splitPiece(piece: string, out: string[]): void {
  let w = piece;
  const lead: string[] = [];
  const trail: string[] = [];
  for (;;) {
    if (/^'(s|re|ve|ll|d|m|em|t|tis|twas)$/.test(w)) break;
    if (w.length > 1 && w.startsWith("'")) { lead.push("'"); w = w.slice(1); continue; }
    if (w.length > 1 && (w[0] === '$' || w[0] === '#')) { lead.push(w[0]); w = w.slice(1); continue; }
    if (w.length > 1 && w[0] === '-' && !/^-\d/.test(w)) { lead.push('-'); w = w.slice(1); continue; }
    break;
  }
  for (;;) {
    if (w.length > 1 && w.endsWith("'") && !/^'(s|re|ve|ll|d|m)$/.test(w)) { trail.unshift("'"); w = w.slice(0, -1); continue; }
    if (w.length > 1 && (w.endsWith('%') || w.endsWith('-'))) { trail.unshift(w.slice(-1)); w = w.slice(0, -1); continue; }
    if (w.length > 1 && w.endsWith('.')) {
      const core = w.slice(0, -1);
      if (isAbbreviation(core)) break;
      trail.unshift('.');
      w = core;
      continue;
    }
    break;
  }
  out.push(...lead);
  if (w.length > 0) {
    const assim = ASSIMILATIONS.get(w);
    const clitic = CLITIC.exec(w);
    if (assim) out.push(...assim);
    else if (clitic && !/^'/.test(w)) out.push(clitic[1]!, clitic[2]!);
    else out.push(w);
  }
  out.push(...trail);
}

/** PTB-style tokens of one caption, before punctuation removal (lower-cased). */
export function ptbRawTokens(caption: string): string[] {
  const text = caption.toLowerCase().replace(/[\u2018\u2019\u201b\u2032]/g, "'").replace(/[\u201c\u201d\u201e]/g, '"');
  const out: string[] = [];
  for (const chunk of text.split(/\s+/)) {
    if (chunk.length === 0) continue;
    let first = true; // an opening quote starts its whitespace chunk; any other is a closing one
    for (const part of chunk.split(SEPARATORS)) {
      if (part.length === 0) continue;
      const bracket = BRACKETS.get(part);
      if (bracket) out.push(bracket);
      else if (part === '"') out.push(first ? '``' : "''");
      else if (/^(\.\.\.|--|[;?!`]|,|:)$/.test(part)) out.push(part);
      else splitPiece(part, out);
      if (part !== '(' && part !== '[' && part !== '{') first = false;
    }
  }
  return out;
}

/** coco-caption's PTB step: tokenise, drop its punctuation tokens, join with single spaces. */
export function ptbTokenize(caption: string): string {
  return ptbRawTokens(caption).filter((t) => !DROPPED.has(t)).join(' ');
}

/** Raw whitespace tokens joined by single spaces (no lower-casing, nothing removed). */
export function whitespaceTokenize(caption: string): string {
  return caption.split(/\s+/).filter((t) => t.length > 0).join(' ');
}

/** Tokenises one caption with the named scheme; the result is its tokens joined by single spaces. */
export function tokenizeCaption(caption: string, mode: Tokenization): string {
  return mode === 'ptb' ? ptbTokenize(caption) : whitespaceTokenize(caption);
}
