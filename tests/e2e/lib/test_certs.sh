# shellcheck shell=bash
# Certificates for tests that play a mesh peer with openssl (s_server, s_client):
# a CA, and X509-SVIDs (one SPIFFE URI SAN, leaf, ECDSA P-256) signed by a given CA
# with a chosen validity window, so that a test can make exactly the certificate
# a rule is about: expired, not yet valid, from another CA, with the wrong ID.
# Uses only the openssl command line; safe to source under `set -euo pipefail`.
#
#   certs_make_ca DIR [CN]               DIR/ca.crt + DIR/ca.key (PEM), self-signed,
#                                        10 years; the layout of weft-agent's --ca-dir
#   certs_make_svid OUT URI CA_DIR [NOT_BEFORE NOT_AFTER]
#                                        OUT.crt + OUT.key: an X509-SVID for URI signed
#                                        by CA_DIR/ca.{crt,key}, with a random serial;
#                                        the window (YYYYMMDDHHMMSSZ) defaults to
#                                        1 hour ago .. 1 day from now
#   certs_time OFFSET_SECONDS            a time for the window, now + OFFSET
#                                        (negative: in the past), as openssl ca takes it
#   certs_uri CERT                       the URI SANs of CERT, one per line
#   certs_serial CERT                    the serial, lower-case hex without leading zeros
#
# An SVID is signed with `openssl ca`, the one openssl 3.0 command that sets both
# ends of the validity window (x509 -req only takes -days from now); its database
# lives in a temporary directory per call.

_certs_err() { echo "test_certs: $*" >&2; return 1; }

certs_make_ca() {
  local dir=$1 cn=${2:-weft test CA}
  mkdir -p "$dir" || return 1
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
    -days 3650 -subj "/O=weft tests/CN=$cn" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null ||
    _certs_err "could not make a CA in $dir"
}

certs_time() {
  date -u -d "@$(($(date +%s) + $1))" +%Y%m%d%H%M%SZ
}

certs_make_svid() {
  local out=$1 uri=$2 ca=$3 nb=${4:-} na=${5:-} work rc=0
  [[ -f $ca/ca.crt && -f $ca/ca.key ]] || _certs_err "no CA in '$ca' (want ca.crt and ca.key)" || return 1
  [[ $uri == spiffe://* ]] || _certs_err "not a SPIFFE ID: '$uri'" || return 1
  [[ -n $nb ]] || nb=$(certs_time -3600)
  [[ -n $na ]] || na=$(certs_time 86400)
  work=$(mktemp -d) || return 1
  mkdir "$work/new"
  : >"$work/index.txt"
  # A random positive 128-bit serial, so that two SVIDs never share one.
  echo "4$(openssl rand -hex 16 | cut -c2-)" >"$work/serial"
  cat >"$work/ca.cnf" <<EOF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = $work/index.txt
new_certs_dir = $work/new
serial = $work/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = optional
[ svid ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = critical, URI:$uri
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  # An SVID's identity is its URI SAN; the subject stays empty-ish (SPIFFE allows any).
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=weft tests" \
    -keyout "$out.key" -out "$work/svid.csr" 2>"$work/err" &&
    openssl ca -batch -config "$work/ca.cnf" -extensions svid -notext \
      -cert "$ca/ca.crt" -keyfile "$ca/ca.key" -startdate "$nb" -enddate "$na" \
      -in "$work/svid.csr" -out "$out.crt" 2>>"$work/err" >/dev/null || rc=$?
  ((rc == 0)) || _certs_err "could not sign an SVID for $uri: $(tail -n 3 "$work/err" | tr '\n' ' ')"
  rm -rf "$work"
  return "$rc"
}

certs_uri() {
  openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | grep -o 'URI:[^, ]*' | sed 's/^URI://'
}

certs_serial() {
  openssl x509 -in "$1" -noout -serial | sed 's/^serial=//; s/^0*//' | tr 'A-F' 'a-f'
}
