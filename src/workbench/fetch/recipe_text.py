"""Hyperparameters stated in prose: "a learning rate of 0.01", "lr = 1e-3", "batch size 128",
"trained for 100 epochs", "Adam with β1 = 0.9", "dropout rate 0.5", "lr ∈ {0.01, 0.001}".

Patterns are general ways of stating a setting, not lines of particular papers: a name, a short
gap without digits ("of", "was set to", "="), then a number, a list or a {grid}; or a number
then a unit-like noun ("100 epochs", "5 random seeds"). More specific patterns run first and
claim their number, so "minimum learning rate of 1e-5" is not also a learning rate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.fetch.numbers import NUM, NUM_RE, WORD, WORDS, parse_number
from workbench.fetch.plain import Plain, to_plain
from workbench.fetch.recipe_schema import RecipeEntry, RecipeSource, Value
from workbench.fetch.sections import document_body
from workbench.fetch.tex import Document

GAP = r"(?P<gap>[^\d\n.;{}\[\]]{0,32}?)"
LIST = (r"(?P<v>\{[^{}\n]{1,120}\}|\[[^\[\]\n]{1,120}\]|\(\s*" + NUM + r"\s*,[^()\n]{1,80}\)|(?:" + NUM +
        r")(?:\s*%)?(?:(?:\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|to)\s+)(?:" + NUM + r")(?:\s*%)?)*)")
COUNT = r"(?P<v>" + NUM + r"|" + WORD + r")"
# A change of the setting, not its value: "learning rate decayed by 0.1", "... after 30 epochs".
CHANGE = re.compile(r"decay|reduc|divid|multipl|factor|warm|schedul|every|after|halv|patience|times|than|increas|"
                    r"decreas|\bby\b|\bper\b|anneal|drop|final|minim|until|\bfirst\b|\blast\b")
BEFORE_GUARD = re.compile(r"\b(?:after|every|first|last|each|until|within|per|warm-?\s?up|top|additional|extra|"
                          r"over the|at|than)\s*$")
LR = r"(?:initial |base |peak |max(?:imum)? |global )?(?:learning[- ]rates?|\blr\b)"
# "1000 steps" is a training length only where the sentence is about training, not "orbits over 1000 steps"
TRAINING = r"train|optimi|fine-?tun|learn|updat|gradient|pre-?train|run|batch|epoch|converge|schedul"


@dataclass(frozen=True)
class Pattern:
    name: str
    regex: re.Pattern[str]
    numbers_before: bool = False     # "100 epochs": guard against "after 100 epochs"
    needs: re.Pattern[str] | None = None  # the sentence must say this too (context)


def _after(name: str, alias: str, needs: str | None = None) -> Pattern:
    return Pattern(name, re.compile(r"(?:" + alias + r")" + GAP + LIST), needs=re.compile(needs) if needs else None)


def _before(name: str, suffix: str, value: str = COUNT, needs: str | None = None) -> Pattern:
    """NUM then its noun; a short parenthesis may sit between them ("100 (CIFAR-10) epochs")."""
    return Pattern(name, re.compile(r"(?<![\w.^-])" + value + r"(?:\s*\([^()\n]{1,30}\))?\s*-?\s*(?:" + suffix + r")"),
                   numbers_before=True, needs=re.compile(needs) if needs else None)


UNITS = r"(?:training |gradient |optimi[sz]ation |update |total |sgd )?"
PATTERNS = [
    # the specific first: they claim their number before the general ones see it
    _after("min_learning_rate", r"(?:min(?:imum|imal)?|final|lowest|end) (?:learning[- ]rate|lr\b)|\blr_?min\b|\beta_?min\b"),
    _after("min_learning_rate", r"(?:decay(?:ed|s)?|anneal(?:ed|s)?|reduced?|decreas(?:ed|es)?)(?: the learning rate| it)?"
                                r"(?: down)? to(?! a)", needs=r"learning rate|\blr\b"),
    Pattern("warmup_steps", re.compile(r"warm(?:s|ing|ed)?[- ]?\s?up[^\d\n.;]{0,40}?" + COUNT + r"\s*" + UNITS + r"(?:steps|iterations|updates)")),
    Pattern("warmup_epochs", re.compile(r"warm(?:s|ing|ed)?[- ]?\s?up[^\d\n.;]{0,40}?" + COUNT + r"\s*(?:training )?epochs?")),
    Pattern("warmup_ratio", re.compile(r"warm(?:s|ing|ed)?[- ]?\s?up[^\d\n.;]{0,40}?(?P<v>(?:" + NUM + r")\s*%)")),
    _after("warmup_ratio", r"warm[- ]?\s?up (?:ratio|proportion|fraction)"),
    _before("warmup_steps", r"(?:linear )?warm[- ]?\s?up (?:steps|iterations|updates)"),
    Pattern("warmup_ratio", re.compile(r"(?<![\w.])(?P<v>(?:" + NUM + r")\s*%)\s*(?:linear )?(?:learning rate )?warm[- ]?\s?up")),
    _after("lr_decay_factor", r"(?:decay(?:ed|s)?|reduc(?:e|ed|es|ing)|multipl(?:y|ied|ies)|drop(?:ped|s)?|divid(?:e|ed|es)|"
                              r"decreas(?:e|ed|es)|anneal(?:ed)?|scaled)\b[^\d\n.;]{0,40}?\bby(?: a factor(?: of)?)?|"
                              r"(?:decay|reduction|multiplicative|annealing) (?:factor|rate)(?: of)?",
           needs=r"learning rate|\blr\b|step size"),
    Pattern("early_stopping_patience", re.compile(r"early[- ]stopping[^\d\n.;]{0,40}?" + COUNT +
                                                  r"\s*(?:consecutive )?(?:epochs|steps|iterations|evaluations|rounds)")),
    _after("patience", r"patience(?: of| parameter| value)?"),
    Pattern("beta_pair", re.compile(r"(?:\(?\s*beta\s*_?\s*1\s*,\s*beta\s*_?\s*2\s*\)?|\bbetas?\b)[^\d\n.;]{0,20}?\(?\s*(?P<v>" +
                                    NUM + r")\s*,\s*(?P<w>" + NUM + r")")),
    _after("beta1", r"\bbeta\s*_?\s*1(?!\d)", needs=r"adam|optimi|beta\s*_?\s*2|momentum"),
    _after("beta2", r"\bbeta\s*_?\s*2(?!\d)", needs=r"adam|optimi|beta\s*_?\s*1|momentum"),
    _after("epsilon", r"\bepsilon\b|\beps\b", needs=r"adam|optimi|numerical stability"),
    _after("embedding_dim", r"(?:embedding|embedded|embed|token embedding|word embedding) (?:space of )?"
                            r"(?:size|dimension|dim|dimensionality|length)s?|"
                            r"\bd_?emb\b|embedding_dim"),
    _before("embedding_dim", r"dimensional (?:\w+ )?(?:embeddings?|vectors?)", value=r"(?P<v>" + NUM + r")"),
    Pattern("embedding_dim", re.compile(r"(?:embeddings?|vectors?)\s*\(\s*(?P<v>" + NUM + r")\s*dimensions?\)")),
    _after("hidden_size", r"hidden (?:size|dimension|dim|dimensionality|units|layer size|state size|state dimension|width|"
                          r"channels|features|neurons)s?(?: (?:of|per layer))?|\bd_?model\b|model dimension(?:ality)?|hidden_size"),
    _before("hidden_size", r"(?:hidden )?(?:units|neurons)\b|hidden (?:dimensions|channels|features)", value=r"(?P<v>" + NUM + r")"),
    _after("num_layers", r"number of (?:\w+ )?layers|\bnum_layers\b|\bn_layers\b|\bdepth\b"),
    _before("num_layers", r"(?:(?:hidden|convolutional|conv|fully[- ]connected|dense|transformer|encoder|decoder|gnn|graph|lstm|"
                          r"gru|rnn|residual|mlp|message[- ]passing|linear|attention|recurrent)[- ]){0,2}layers?\b"),
    _after("num_heads", r"number of (?:attention )?heads|\bnum_heads\b"),
    _before("num_heads", r"(?:(?:self-?\s?|multi-?\s?head )?attention )?heads\b"),
    _after("kernel_size", r"(?:kernel|filter|convolution) size"),
    _before("kernel_size", r"\s*(?:×|x)\s*\d+\s*(?:conv(?:olution(?:al)?)?\s*)?(?:kernels?|filters?|convolutions?)",
            value=r"(?P<v>\d+)"),
    _after("image_size", r"(?:image|input|crop) (?:size|resolution)|resized? (?:\w+ )?to|resolution of"),
    _before("image_size", r"\s*(?:×|x)\s*\d+\s*(?:pixels?\s*)?(?:(?:rgb|colou?r|gray-?scale|input|training) )?(?:images|pixels|crops?)",
            value=r"(?P<v>\d+)"),
    _after("sequence_length", r"(?:max(?:imum)? )?(?:sequence|input|context|sentence|source|target) lengths?|"
                              r"max(?:imum)? (?:input )?length|context (?:size|window)|sequences of length|max_seq_len(?:gth)?|"
                              r"(?:cutoff|truncation) length"),
    _after("vocab_size", r"vocabulary (?:size|of)|vocab(?:ulary)? size"),
    _after("beam_size", r"beam (?:size|width)|beam search (?:with|of)"),
    _before("beam_size", r"beams\b"),
    _after("temperature", r"temperature(?: parameter| coefficient| tau| scaling)?"),
    _after("label_smoothing", r"label[- ]smoothing(?: (?:factor|coefficient|parameter|value|epsilon|rate))?"),
    _after("gradient_clip", r"(?:gradient|grad)(?: norm)? clipping(?: (?:threshold|value|norm))?|clip(?:ped|ping|s)? (?:the )?"
                            r"(?:gradient|grad)s?(?:(?: l2)? norms?)?|max(?:imum)? (?:gradient|grad) norm|clip[- ]?norm"),
    _after("weight_decay", r"weight[- ]decay(?: (?:coefficient|rate|factor|parameter|strength))?|"
                           r"l_?2[- ](?:regulari[sz]ation|penalty|weight decay)(?: (?:coefficient|weight|strength|term))?"),
    _after("momentum", r"(?:nesterov )?momentum(?: (?:coefficient|term|parameter|value))?"),
    _after("dropout", r"drop[- ]?out(?: (?:rate|probability|ratio|rates|value))?|drop (?:rate|probability)|\bp_?drop\b"),
    _after("learning_rate", LR),
    _after("batch_size", r"(?:mini-?\s?)?batch[- ]?sizes?|batches of|\bbs\b"),
    _after("epochs", r"(?:number of |training |max(?:imum)? )?epochs\b"),
    _before("epochs", r"(?:training |total |full |more )?epochs?\b", value=r"(?P<v>" + NUM + r")"),
    _after("steps", r"(?:number of |training |max(?:imum)? )(?:steps|updates)\b"),
    _before("steps", UNITS + r"(?:steps|updates)\b", value=r"(?P<v>" + NUM + r")", needs=TRAINING),
    _before("iterations", r"(?:training )?iterations\b", value=r"(?P<v>" + NUM + r")", needs=TRAINING),
    _before("num_seeds_or_runs", r"(?:independent |random |different |separate |training |experimental )*"
                                 r"(?:runs|seeds|trials|repetitions|restarts|random initiali[sz]ations)\b"),
    Pattern("num_seeds_or_runs", re.compile(r"repeated\s+" + COUNT + r"\s+times")),
    _before("cv_folds", r"fold\b(?=[^.\n]{0,25}(?:cross|\bcv\b|validation|split))|folds\b"),
]
CATEGORIES = {
    "optimizer": [(r"\badamw\b|adam with decoupled weight decay", "adamw"), (r"\badam\b", "adam"),
                  (r"\bsgd\b|stochastic gradient descent", "sgd"), (r"\brmsprop\b", "rmsprop"), (r"\badagrad\b", "adagrad"),
                  (r"\badadelta\b", "adadelta"), (r"\badamax\b", "adamax"), (r"\bnadam\b", "nadam"), (r"\bradam\b", "radam"),
                  (r"\bl-?bfgs\b", "lbfgs"), (r"\badafactor\b", "adafactor"), (r"\blamb optimi[sz]er", "lamb")],
    "lr_schedule": [(r"cosine ?(?:annealing|decay|schedul\w*|learning rate|lr)|cosine-annealed", "cosine"),
                    (r"multi-?step", "multistep"), (r"\bstep(?:wise)? ?(?:decay|schedule|lr)\b", "step"),
                    (r"linear(?:ly)? (?:decay|decayed|decaying|learning rate decay|schedule)|decay(?:s|ed)? (?:it )?linearly",
                     "linear"),
                    (r"exponential(?:ly)? ?(?:decay|decayed|learning rate|lr)", "exponential"),
                    (r"polynomial (?:decay|schedule)", "polynomial"), (r"inverse square[- ]root", "inverse_sqrt"),
                    (r"reduce ?lr ?on ?plateau|reduce[- ]on[- ]plateau|(?:learning rate|\blr\b)[^.\n]{0,60}plateau", "plateau"),
                    (r"constant learning rate", "constant"), (r"one[- ]?cycle", "one_cycle")],
    "loss": [(r"binary cross[- ]?entropy|\bbce\b", "bce"), (r"cross[- ]?entropy", "cross_entropy"),
             (r"mean squared error|\bmse\b|\bl2 loss|squared error loss", "mse"),
             (r"mean absolute error loss|\bl1 loss|\bmae loss", "mae"), (r"negative log[- ]likelihood", "nll"),
             (r"hinge loss", "hinge"), (r"huber loss|smooth l1", "huber"), (r"contrastive loss|infonce", "contrastive")],
}
CATEGORY_CONTEXT = {
    "optimizer": re.compile(r"optimi[sz]|train|learning rate|\blr\b|momentum|minimi|fine-?tun|weight decay|\bbetas?\b|epsilon|"
                            r"\bus(?:e|ed|es|ing)\b"),
    "lr_schedule": re.compile(r"learning rate|\blr\b|schedul|anneal|decay"),
    "loss": re.compile(r"loss|objective|minimi|train|optimi"),
}
COUNTS = {"batch_size", "epochs", "steps", "iterations", "hidden_size", "embedding_dim", "num_layers", "num_heads",
          "kernel_size", "image_size", "sequence_length", "vocab_size", "beam_size", "num_seeds_or_runs", "cv_folds",
          "warmup_steps", "warmup_epochs", "early_stopping_patience", "lr_patience"}
ZERO_OK = {"min_learning_rate", "weight_decay", "dropout", "label_smoothing", "momentum", "warmup_ratio", "warmup_steps",
           "warmup_epochs"}
FRACTIONS = {"dropout", "momentum", "beta1", "beta2", "label_smoothing", "warmup_ratio"}
LIMITS = {"learning_rate": (0, 10), "min_learning_rate": (0, 1), "weight_decay": (0, 1), "epsilon": (0, 0.01),
          "temperature": (0, 1000), "gradient_clip": (0, 1e4), "lr_decay_factor": (0, 1000), "kernel_size": (1, 31),
          "image_size": (8, 4096), "num_layers": (1, 1000), "num_heads": (1, 256), "num_seeds_or_runs": (2, 1000),
          "cv_folds": (2, 100), "epochs": (1, 100_000), "batch_size": (1, 10_000_000), "beam_size": (1, 1000)}
TRAILING_OK = re.compile(r"\s*(?:$|[,.;:)\]]|(?:for|respectively|in|on|with|and|or|to|when|as|if|during|at|which|was|were|is|"
                         r"are|we|the|while|across|per|each|of)\b)")
SCOPE = re.compile(r"^\s*for (?:the |our )?(?P<scope>[^,\n\d]{2,50}?),", re.IGNORECASE)


def text_entries(doc: Document) -> list[RecipeEntry]:
    start, stop = document_body(doc)
    plain = to_plain(doc.text[start:stop], start)
    low = _lower(plain.text)
    claimed: set[int] = set()
    found: list[RecipeEntry] = []
    for pattern in PATTERNS:
        for match in pattern.regex.finditer(low):
            found += _numeric(doc, plain, low, pattern, match, claimed)
    for name, choices in CATEGORIES.items():
        found += _categorical(doc, plain, low, name, choices)
    return found


def _lower(text: str) -> str:
    """Lowercase with the length kept, so offsets still line up."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _numeric(doc: Document, plain: Plain, low: str, pattern: Pattern, match: re.Match[str],
             claimed: set[int]) -> list[RecipeEntry]:
    at = match.start("v")
    if at in claimed:
        return []
    sentence = _sentence(low, match.start(), match.end())
    if pattern.needs is not None and not pattern.needs.search(sentence):
        return []
    gap = match.groupdict().get("gap") or ""
    if gap and (CHANGE.search(gap) or _names_another(gap)):
        return []
    if pattern.numbers_before and BEFORE_GUARD.search(low[max(0, at - 16):at]):
        return []
    if pattern.name == "beta_pair":
        pair = [parse_number(match.group("v")), parse_number(match.group("w"))]
        if not all(isinstance(v, float) and 0 < v < 1 for v in pair):
            return []
        claimed.add(at)
        return [_entry(doc, plain, low, n, v, None, match) for n, v in zip(("beta1", "beta2"), pair)]
    name = _patience_name(sentence) if pattern.name == "patience" else pattern.name
    value_end = at + len(match.group("v").rstrip())
    if re.match(r"[a-z^]", low[value_end:value_end + 1]):
        return []  # "1e^{-x}": a formula, not a number
    values = _values(match.group("v"), low[match.end("v"):], pattern.numbers_before)
    if not values or not all(plausible(name, v) for v in values):
        return []
    claimed.add(at)
    if len(values) == 1:
        return [_entry(doc, plain, low, name, values[0], None, match)]
    return [_entry(doc, plain, low, name, None, values, match)]


def _names_another(gap: str) -> bool:
    """"learning rate and batch size are 0.1 and 64": the number may belong to the other name."""
    return bool(re.search(r"\band\b.*(?:rate|size|decay|dropout|momentum|epochs|steps)", gap))


def _patience_name(sentence: str) -> str:
    if re.search(r"early[- ]?stop", sentence):
        return "early_stopping_patience"
    if re.search(r"learning rate|\blr\b|plateau|reduce", sentence):
        return "lr_patience"
    return "early_stopping_patience"


def _values(text: str, after: str, single: bool) -> list[Value]:
    """The number, or the numbers of a list or {grid}; a last number followed by a noun of its
    own ("0.001, 100 epochs") is not part of the list."""
    text = text.strip()
    if single or text in WORDS:
        number = parse_number(text)
        return [] if number is None else [number]
    if text[:1] in "{[(":
        pieces = re.split(r",|;|\bor\b|\band\b", text[1:-1])
        numbers = [parse_number(p) for p in pieces if p.strip()]
        return [] if not numbers or any(n is None for n in numbers) else numbers
    spans = [(m.start(), m.group(0)) for m in NUM_RE.finditer(text)]
    numbers = [parse_number(s + ("%" if text[i + len(s):].lstrip().startswith("%") else "")) for i, s in spans]
    if len(numbers) > 1 and not TRAILING_OK.match(after):
        numbers = numbers[:-1]
    if len(numbers) > 1 and re.search(r"\bto\b", text) and len(numbers) != 2:
        return []
    return [n for n in numbers if n is not None]


def plausible(name: str, value: Value) -> bool:
    if not isinstance(value, (int, float)):
        return False
    if name in COUNTS and not float(value).is_integer():
        return False
    if name in FRACTIONS and not 0 <= value < 1:
        return False
    low, high = LIMITS.get(name, (0, float("inf")))
    return (value >= 0 if name in ZERO_OK else value > 0) and low <= value <= high


def _categorical(doc: Document, plain: Plain, low: str, name: str, choices: list[tuple[str, str]]) -> list[RecipeEntry]:
    found = []
    taken: list[tuple[int, int]] = []
    for regex, value in choices:
        for match in re.finditer(regex, low):
            if any(a <= match.start() < b for a, b in taken):
                continue  # "binary cross-entropy" is not also "cross-entropy"
            if CATEGORY_CONTEXT[name].search(_sentence(low, match.start(), match.end())):
                taken.append(match.span())
                found.append(_entry(doc, plain, low, name, value, None, match))
    return found


def _sentence(low: str, start: int, end: int) -> str:
    begin = max(low.rfind(". ", 0, start), low.rfind("\n", 0, start)) + 1
    stops = [i for i in (low.find(". ", end), low.find("\n", end)) if i >= 0]
    return low[begin:min(stops) if stops else len(low)]


def _words_around(text: str, begin: int, start: int, end: int, reach: int = 45) -> str:
    """Whole words around text[start:end], within its sentence (which starts at begin)."""
    stops = [i for i in (text.find(". ", end), text.find("\n", end)) if i >= 0]
    stop = min([*stops, len(text)])
    left = max(begin, start - reach)
    if left > begin:
        left = text.find(" ", left, start) + 1 or start
    right = min(stop, end + reach)
    if right < stop:
        right = text.rfind(" ", end, right) if text.rfind(" ", end, right) > 0 else end
    return " ".join(text[left:right].split())


def _entry(doc: Document, plain: Plain, low: str, name: str, value: Value | None, values: list[Value] | None,
           match: re.Match[str]) -> RecipeEntry:
    where = doc.where(plain.source_offset(match.start()))
    begin = max(low.rfind(". ", 0, match.start()), low.rfind("\n", 0, match.start())) + 1
    quote = plain.text[match.start():match.end()].strip()
    if isinstance(value, str):  # a bare "adam" says little: the words around it
        quote = _words_around(plain.text, begin, match.start(), match.end())
    scope = SCOPE.match(plain.text[begin:match.start()])
    return RecipeEntry(name=name, value=value, values=values, scope=scope.group("scope").strip() if scope else None,
                       source=RecipeSource(file=where.file, line=where.line, quote=quote))
