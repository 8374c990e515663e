#!/usr/bin/env zsh
# zsh-complete.zsh <script or fpath directory> <command line>: the matches zsh's completion offers
# at the end of the line, one a line. An interactive zsh in a pseudo-terminal (zsh/zpty) loads the
# script (sourced after compinit, or autoloaded from the directory put on fpath), types the line and
# a Tab; compadd is wrapped to print what it is given to add.
# The printed marker is computed, so the terminal's echo of the wrapper's text never matches it.
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PROMPT='' ; RPROMPT=''"
if [[ -d $1 ]]; then
  zpty -w z "fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
else
  zpty -w z "autoload -U compinit; compinit -u -D; source $1"
fi
zpty -w z 'compadd () {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  typeset -a __hits
  builtin compadd -A __hits "$@"
  (( $#__hits )) || return 1
  local h; for h in $__hits; do print -r -- "<$((1))<$h>>"; done
}'
zpty -w z "bindkey '^I' complete-word"
zpty -n -w z "$2"$'\t'
sleep 1
# Read until a match (or the bell of none) came and the terminal has been quiet for half a second
# since (at most 15 s).
typeset out="" chunk=""
integer i idle=0
for (( i = 0; i < 150 && idle < 5; i++ )); do
  if zpty -r -t z chunk; then out+=$chunk; idle=0
  else
    [[ $out == *'<1<'* || $out == *$'\a'* ]] && idle+=1
    sleep 0.1
  fi
done
zpty -d z
print -r -- "$out" | grep -ao "<1<[^>]*>>" | sed 's/^<1<//; s/>>$//' | sort -u
