# Shared by the appliance recipes: the cache check, and progress reporting —
# one line that updates in place on a terminal ("[3/8] building the debian
# appliance: debootstrap ... Retrieving libc6"), plain lines otherwise (logs,
# CI).  Source it, set PROGRESS_NAME and PROGRESS_TOTAL.  Output goes to stderr.

# recipe_hash FILE...: a short hash of the files a recipe is made of.
recipe_hash() { cat "$@" | sha256sum | cut -c1-16; }

# recipe_up_to_date OUT HASH: true when OUT holds an appliance built by
# exactly that recipe (the hash is kept in OUT/.recipe).
recipe_up_to_date() {
  [ -f "$1/.recipe" ] && [ "$(cat "$1/.recipe")" = "$2" ] && [ -f "$1/appliance.json" ]
}

PROGRESS_STEP=0
if [ -t 2 ]; then PROGRESS_TTY=1; else PROGRESS_TTY=0; fi

# step MESSAGE: starts the next step.
step() {
  PROGRESS_STEP=$((PROGRESS_STEP + 1))
  PROGRESS_MSG=$1
  if [ "$PROGRESS_TTY" = 1 ]; then
    printf '\r\033[K[%d/%d] %s: %s' "$PROGRESS_STEP" "$PROGRESS_TOTAL" "$PROGRESS_NAME" "$1" >&2
  else
    printf '[%d/%d] %s: %s\n' "$PROGRESS_STEP" "$PROGRESS_TOTAL" "$PROGRESS_NAME" "$1" >&2
  fi
}

# follow LOG: reads a command's output on stdin, keeps all of it in LOG, and
# shows its latest line after the current step's message (on a terminal).
follow() {
  local log=$1 line cols
  cols=$(tput cols 2>/dev/null || echo 80)
  while IFS= read -r line; do
    printf '%s\n' "$line" >> "$log"
    if [ "$PROGRESS_TTY" = 1 ]; then
      line=${line#I: }
      printf '\r\033[K%s' "$(printf '[%d/%d] %s: %s ... %s' "$PROGRESS_STEP" "$PROGRESS_TOTAL" \
        "$PROGRESS_NAME" "$PROGRESS_MSG" "$line" | cut -c1-$((cols - 1)))" >&2
    fi
  done
}

# done_progress MESSAGE: ends the progress line.
done_progress() {
  if [ "$PROGRESS_TTY" = 1 ]; then printf '\r\033[K' >&2; fi
  printf '%s\n' "$1" >&2
}
