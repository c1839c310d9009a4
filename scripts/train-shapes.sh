#!/usr/bin/env bash
# Trains and ships the shapes models of issue 4, in order, each into runs/NAME and then, through
# `narrowgate ship`, into checkpoints/NAME (held-out evaluation, chance levels, samples, card).
# Safe to re-run after an interruption: a recipe whose checkpoints/NAME exists is skipped, and a
# training run continues from its last checkpoint (--resume; every 250 steps, 100 for the fine-tunes).
#
#   scripts/train-shapes.sh                                  # the whole set, recipes as committed
#   scripts/train-shapes.sh --set train.steps=300 --into checkpoints-quick --runs runs-quick
#                                                            # shorter runs, shipped elsewhere
#   scripts/train-shapes.sh --only native-shapes             # one recipe (its dependencies must be shipped)
#   scripts/train-shapes.sh --plan                           # print the estimate and stop
#
# Options: --set KEY=VALUE (repeatable; passed to every `narrowgate train` and so recorded in each
# card's command), --workers N and --backend NAME (passed to train; keep --workers fixed across
# re-runs), --into DIR (default checkpoints), --runs DIR (default runs), --suite FILE (default
# eval/shapes-quick.yaml), --dtype f16|f32 (shipped weights, default f16), --only NAME (repeatable).
# With --into other than checkpoints, the dependent recipes are pointed at the checkpoints shipped
# there (--set init.from=DIR/..., --set image.tokenizer=DIR/vq-shapes), and those --set values are
# recorded too. NARROWGATE overrides the command (default: node --import tsx src/cli/main.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

ORDER=(vq-shapes native-shapes adapter-shapes native-shapes-noimgloss distribute distribute-control concentrate gate-dropout concentrate-adapter adapter-shapes-pretrained)
read -r -a NG <<< "${NARROWGATE:-node --import tsx src/cli/main.ts}"
INTO=checkpoints RUNS=runs SUITE=eval/shapes-quick.yaml DTYPE=f16 PLAN=0
SETS=() TRAIN_EXTRA=() ONLY=()
die() { echo "train-shapes.sh: $*" >&2; exit 2; }
need() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --set) need "$@"; SETS+=(--set "$2"); shift 2 ;;
    --workers|--backend) need "$@"; TRAIN_EXTRA+=("$1" "$2"); shift 2 ;;
    --into) need "$@"; INTO=$2; shift 2 ;;
    --runs) need "$@"; RUNS=$2; shift 2 ;;
    --suite) need "$@"; SUITE=$2; shift 2 ;;
    --dtype) need "$@"; DTYPE=$2; shift 2 ;;
    --only) need "$@"; [[ " ${ORDER[*]} " == *" $2 "* ]] || die "--only $2 is not one of: ${ORDER[*]}"; ONLY+=("$2"); shift 2 ;;
    --plan) PLAN=1; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[[ ${#ONLY[@]} -gt 0 ]] && NAMES=("${ONLY[@]}") || NAMES=("${ORDER[@]}")

# the --set values that point a recipe at what it needs, when shipping somewhere other than checkpoints/
deps() {
  [[ $INTO == checkpoints ]] && return 0
  case $1 in
    native-shapes|native-shapes-noimgloss) echo "--set image.tokenizer=$INTO/vq-shapes" ;;
    distribute|distribute-control|concentrate|gate-dropout) echo "--set init.from=$INTO/native-shapes" ;;
    concentrate-adapter) echo "--set init.from=$INTO/adapter-shapes" ;;
  esac
}

node --import tsx scripts/shapes-plan.ts --runs "$RUNS" --into "$INTO" ${SETS[@]+"${SETS[@]}"} -- "${NAMES[@]}"
[[ $PLAN == 1 ]] && exit 0

start=$(date +%s)
for name in "${NAMES[@]}"; do
  if [[ -e $INTO/$name ]]; then
    echo "== $name: $INTO/$name exists, skipped"
    continue
  fi
  read -r -a DEPS <<< "$(deps "$name")"
  echo "== $name: train into $RUNS/$name ($(date -u +%H:%M) UTC)"
  "${NG[@]}" train "recipes/$name.yaml" --out "$RUNS/$name" --resume ${SETS[@]+"${SETS[@]}"} ${DEPS[@]+"${DEPS[@]}"} ${TRAIN_EXTRA[@]+"${TRAIN_EXTRA[@]}"}
  echo "== $name: ship into $INTO/$name"
  "${NG[@]}" ship "$RUNS/$name" --name "$name" --suite "$SUITE" --into "$INTO" --dtype "$DTYPE"
done
echo "== done in $(( ($(date +%s) - start) / 60 )) min; shipped: $(ls "$INTO" | tr '\n' ' ')"
