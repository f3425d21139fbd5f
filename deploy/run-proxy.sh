#!/usr/bin/env bash
# Render deploy/nginx.conf.template and run Debian's nginx in the foreground (for systemd, a container,
# or a test). Everything nginx writes (rendered config, logs, pid, temp files) goes under PROXY_PREFIX.
#
#   PROXY_PREFIX        required  a directory of its own, e.g. /srv/haier-proxy
#   OPERATOR_HTPASSWD   required  operators' logins: htpasswd -B (bcrypt) or openssl passwd -6 hashes
#   VIEWER_HTPASSWD     required  viewers' logins (a different file: a viewer cannot log in as operator)
#   OPERATOR_LISTEN     443       nginx `listen` address of the operators' side
#   VIEWER_LISTEN       8443      nginx `listen` address of the viewers' side
#   OPERATOR_UPSTREAM   127.0.0.1:3000  `dagster-webserver -h 127.0.0.1 -p 3000`
#   VIEWER_UPSTREAM     127.0.0.1:3001  `dagster-webserver --read-only -h 127.0.0.1 -p 3001`
#   TLS_CERT, TLS_KEY   —         certificate and key; both sides then speak https only
#   PROXY_ALLOW_PLAINTEXT  —      1: allow plain http on a non-loopback address (passwords in clear: don't)
#   PROXY_USER          nobody nogroup  the workers' user when started as root
#   NGINX               /usr/sbin/nginx
#
#   deploy/run-proxy.sh            render, check (nginx -t), then exec nginx with `daemon off`
#   deploy/run-proxy.sh --render   render and check only; prints the rendered config's path
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true   # bash 5.2: a literal '&' in ${x//a/b} replacements

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
template="$here/nginx.conf.template"
nginx="${NGINX:-/usr/sbin/nginx}"

die() { echo "run-proxy: $*" >&2; exit 2; }

[[ -n "${PROXY_PREFIX:-}" ]] || die "PROXY_PREFIX: required (a directory for the rendered config, logs and temp files)"
[[ -n "${OPERATOR_HTPASSWD:-}" ]] || die "OPERATOR_HTPASSWD: required (the operators password file)"
[[ -n "${VIEWER_HTPASSWD:-}" ]] || die "VIEWER_HTPASSWD: required (the viewers password file)"
OPERATOR_LISTEN="${OPERATOR_LISTEN:-443}"
VIEWER_LISTEN="${VIEWER_LISTEN:-8443}"
OPERATOR_UPSTREAM="${OPERATOR_UPSTREAM:-127.0.0.1:3000}"
VIEWER_UPSTREAM="${VIEWER_UPSTREAM:-127.0.0.1:3001}"

[[ -x "$nginx" ]] || die "NGINX: $nginx is not installed (apt-get install nginx-light)"

# Values land inside nginx directives: allow no character that could end one or open a block.
plain_value() { [[ "$2" =~ ^[A-Za-z0-9._/:@+-]+$|^\[[0-9a-fA-F:]+\](:[0-9]+)?$ ]] || die "$1: ${2@Q} has characters nginx would misread"; }
for name in PROXY_PREFIX OPERATOR_HTPASSWD VIEWER_HTPASSWD OPERATOR_LISTEN VIEWER_LISTEN OPERATOR_UPSTREAM VIEWER_UPSTREAM; do
  plain_value "$name" "${!name}"
done

loopback() { [[ "$1" =~ ^(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?$ ]]; }
for name in OPERATOR_UPSTREAM VIEWER_UPSTREAM; do
  loopback "${!name}" || die "$name: ${!name} is not a loopback address: the webservers must listen on 127.0.0.1 only"
done
[[ "$OPERATOR_UPSTREAM" != "$VIEWER_UPSTREAM" ]] || die "VIEWER_UPSTREAM: must be the --read-only webserver, not the operators' one"
[[ "$(readlink -f "$OPERATOR_HTPASSWD")" != "$(readlink -f "$VIEWER_HTPASSWD")" ]] \
  || die "VIEWER_HTPASSWD: must not be the operators' file (a viewer could then launch runs)"

# Passwords only as bcrypt ($2y$/$2b$), SHA-512 crypt ($6$) or yescrypt ($y$) hashes: never plain text,
# never the weak apr1/MD5, SHA-1 or DES forms htpasswd can also write.
for name in OPERATOR_HTPASSWD VIEWER_HTPASSWD; do
  file="${!name}"
  [[ -r "$file" && -s "$file" ]] || die "$name: $file is missing or empty"
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ -z "$line" || "$line" == \#* ]] && continue
    [[ "$line" =~ ^[^:]+:(\$2[aby]\$|\$6\$|\$y\$) ]] || die "$name: user ${line%%:*} has no bcrypt/SHA-512 hash (use htpasswd -B)"
  done < "$file"
done

tls_block=""
if [[ -n "${TLS_CERT:-}" || -n "${TLS_KEY:-}" ]]; then
  : "${TLS_CERT:?TLS_CERT: required with TLS_KEY}" "${TLS_KEY:?TLS_KEY: required with TLS_CERT}"
  plain_value TLS_CERT "$TLS_CERT"; plain_value TLS_KEY "$TLS_KEY"
  OPERATOR_LISTEN="$OPERATOR_LISTEN ssl"; VIEWER_LISTEN="$VIEWER_LISTEN ssl"
  tls_block="        ssl_certificate $TLS_CERT;
        ssl_certificate_key $TLS_KEY;
        ssl_protocols TLSv1.2 TLSv1.3;
        add_header Strict-Transport-Security \"max-age=31536000\" always;"
elif [[ "${PROXY_ALLOW_PLAINTEXT:-}" != 1 ]]; then
  for name in OPERATOR_LISTEN VIEWER_LISTEN; do
    loopback "${!name}" || die "$name: ${!name} is reachable from the network: set TLS_CERT/TLS_KEY (basic auth sends passwords with every request)"
  done
fi

user_line=""
if [[ "$(id -u)" == 0 ]]; then
  user_line="user ${PROXY_USER:-nobody nogroup};"
  # nginx reads the password files in its workers, as that user: a file (or a folder above it) they cannot
  # read makes every login answer 500. Refuse it here instead.
  read -r worker_user worker_group <<< "${PROXY_USER:-nobody nogroup}"
  for name in OPERATOR_HTPASSWD VIEWER_HTPASSWD; do
    runuser -u "$worker_user" ${worker_group:+-g "$worker_group"} -- test -r "${!name}" \
      || die "$name: ${!name} is not readable by nginx's workers ($worker_user): every login would answer 500 (chmod 644 it, or chgrp ${worker_group:-$worker_user} and chmod 640, and let them into its folder)"
  done
fi

mkdir -p "$PROXY_PREFIX/logs" "$PROXY_PREFIX/tmp"
conf="$(<"$template")"
conf="${conf//@PREFIX@/$PROXY_PREFIX}"
conf="${conf//@USER_LINE@/$user_line}"
conf="${conf//@OPERATOR_LISTEN@/$OPERATOR_LISTEN}"
conf="${conf//@VIEWER_LISTEN@/$VIEWER_LISTEN}"
conf="${conf//@OPERATOR_UPSTREAM@/$OPERATOR_UPSTREAM}"
conf="${conf//@VIEWER_UPSTREAM@/$VIEWER_UPSTREAM}"
conf="${conf//@OPERATOR_HTPASSWD@/$OPERATOR_HTPASSWD}"
conf="${conf//@VIEWER_HTPASSWD@/$VIEWER_HTPASSWD}"
conf="${conf//@OPERATOR_TLS@/$tls_block}"
conf="${conf//@VIEWER_TLS@/$tls_block}"
[[ ! "$conf" =~ @[A-Z_]+@ ]] || die "template placeholder left unrendered"
printf '%s\n' "$conf" > "$PROXY_PREFIX/nginx.conf"

"$nginx" -q -t -p "$PROXY_PREFIX" -c "$PROXY_PREFIX/nginx.conf" -g 'daemon off;'
if [[ "${1:-}" == "--render" ]]; then
  echo "$PROXY_PREFIX/nginx.conf"
  exit 0
fi
exec "$nginx" -p "$PROXY_PREFIX" -c "$PROXY_PREFIX/nginx.conf" -g 'daemon off;'
