/**
 * The answer normalisation of the official VQA evaluation (GT-Vision-Lab/VQA, vqaEval.py at commit
 * a013f00, 2021), reproduced with its quirks:
 * - processPunctuation: each of ; / [ ] " { } ( ) = + \ _ - > < @ ` , ? ! is deleted when
 *   `p + ' '` or `' ' + p` occurs in the ORIGINAL text, or when the original text has digit,digit
 *   anywhere; otherwise it becomes a space. Then periods not followed by a digit are removed, at most
 *   32 of them (the code passes re.UNICODE = 32 as the count); the regex's "(?!<=\d)" is a lookahead
 *   that never blocks a match.
 * - processDigitArticle: lower-case, split on whitespace, none/zero/one..ten -> 0..10, drop a/an/the,
 *   then the contraction map (its keys with capitals, e.g. "Im", can never match lower-cased text).
 * Python's str.split()/strip() whitespace set and ASCII \d (the Python 2 semantics) are used.
 */

const PUNCT = [';', '/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!'];

const COMMA_STRIP = /(\d)(,)(\d)/;

const PY_WS_CHARS = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WS_SPLIT = new RegExp(`[${PY_WS_CHARS}]+`);
const PY_STRIP = new RegExp(`^[${PY_WS_CHARS}]+|[${PY_WS_CHARS}]+$`, 'g');

const MANUAL_MAP = new Map<string, string>(Object.entries({
  none: '0', zero: '0', one: '1', two: '2', three: '3', four: '4', five: '5',
  six: '6', seven: '7', eight: '8', nine: '9', ten: '10',
}));

const ARTICLES = new Set(['a', 'an', 'the']);

// The official contraction map, verbatim (including keys that can never match lower-cased words).
const CONTRACTIONS: Record<string, string> = {
  aint: "ain't", arent: "aren't", cant: "can't", couldve: "could've", couldnt: "couldn't",
  "couldn'tve": "couldn't've", "couldnt've": "couldn't've", didnt: "didn't", doesnt: "doesn't", dont: "don't", hadnt: "hadn't",
  "hadnt've": "hadn't've", "hadn'tve": "hadn't've", hasnt: "hasn't", havent: "haven't", hed: "he'd", "hed've": "he'd've",
  "he'dve": "he'd've", hes: "he's", howd: "how'd", howll: "how'll", hows: "how's", "Id've": "I'd've", "I'dve": "I'd've",
  Im: "I'm", Ive: "I've", isnt: "isn't", itd: "it'd", "itd've": "it'd've", "it'dve": "it'd've", itll: "it'll", "let's": "let's",
  maam: "ma'am", mightnt: "mightn't", "mightnt've": "mightn't've", "mightn'tve": "mightn't've", mightve: "might've",
  mustnt: "mustn't", mustve: "must've", neednt: "needn't", notve: "not've", oclock: "o'clock", oughtnt: "oughtn't",
  "ow's'at": "'ow's'at", "'ows'at": "'ow's'at", "'ow'sat": "'ow's'at", shant: "shan't", "shed've": "she'd've", "she'dve": "she'd've",
  "she's": "she's", shouldve: "should've", shouldnt: "shouldn't", "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've",
  "somebody'd": 'somebodyd', "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've", somebodyll: "somebody'll",
  somebodys: "somebody's", someoned: "someone'd", "someoned've": "someone'd've", "someone'dve": "someone'd've",
  someonell: "someone'll", someones: "someone's", somethingd: "something'd", "somethingd've": "something'd've",
  "something'dve": "something'd've", somethingll: "something'll", thats: "that's", thered: "there'd", "thered've": "there'd've",
  "there'dve": "there'd've", therere: "there're", theres: "there's", theyd: "they'd", "theyd've": "they'd've",
  "they'dve": "they'd've", theyll: "they'll", theyre: "they're", theyve: "they've", twas: "'twas", wasnt: "wasn't",
  "wed've": "we'd've", "we'dve": "we'd've", weve: "we've", werent: "weren't", whatll: "what'll", whatre: "what're",
  whats: "what's", whatve: "what've", whens: "when's", whered: "where'd", wheres: "where's", whereve: "where've",
  whod: "who'd", "whod've": "who'd've", "who'dve": "who'd've", wholl: "who'll", whos: "who's", whove: "who've", whyll: "why'll",
  whyre: "why're", whys: "why's", wont: "won't", wouldve: "would've", wouldnt: "wouldn't", "wouldnt've": "wouldn't've",
  "wouldn'tve": "wouldn't've", yall: "y'all", "yall'll": "y'all'll", "y'allll": "y'all'll", "yall'd've": "y'all'd've",
  "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've", youd: "you'd", "youd've": "you'd've", "you'dve": "you'd've",
  youll: "you'll", youre: "you're", youve: "you've",
};

const CONTRACTION_MAP = new Map(Object.entries(CONTRACTIONS));

/** Python's str.strip() with no argument. */
export function pyStrip(s: string): string {
  return s.replace(PY_STRIP, '');
}

/** Step 1 of evaluate(): newlines and tabs become spaces, then strip. */
export function normalizeWhitespace(s: string): string {
  return pyStrip(s.replaceAll('\n', ' ').replaceAll('\t', ' '));
}

/** vqaEval.py's processPunctuation, quirks included. */
export function processPunctuation(inText: string): string {
  let out = inText;
  const digitComma = COMMA_STRIP.test(inText);
  for (const p of PUNCT) {
    if (inText.includes(p + ' ') || inText.includes(' ' + p) || digitComma) out = out.replaceAll(p, '');
    else out = out.replaceAll(p, ' ');
  }
  // periodStrip.sub("", out, 32): remove at most 32 periods that are not followed by a digit
  let removed = 0;
  return out.replace(/\.(?![0-9])/g, (m) => (removed++ < 32 ? '' : m));
}

/** vqaEval.py's processDigitArticle: lower-case, number words, articles, contractions. */
export function processDigitArticle(inText: string): string {
  const words: string[] = [];
  for (const raw of inText.toLowerCase().split(PY_WS_SPLIT)) {
    if (raw.length === 0) continue;
    const w = MANUAL_MAP.get(raw) ?? raw;
    if (!ARTICLES.has(w)) words.push(w);
  }
  return words.map((w) => CONTRACTION_MAP.get(w) ?? w).join(' ');
}

/** processPunctuation then processDigitArticle, as evaluate() applies them. */
export function normalizeAnswer(s: string): string {
  return processDigitArticle(processPunctuation(s));
}
