#!/bin/bash
# The NATO example as it is sent, opened in Thunderbird and Evolution under Xvfb, with remote images
# blocked and allowed, light and dark: one PNG per case (the message window, 1000 px wide).
# Too heavy for CI; run it by hand after a change to templates/ or newsletter/render/, and look at
# every PNG. Debian packages:
#
#   apt-get install xvfb thunderbird evolution imagemagick xdotool dbus-x11
#
#   bench/mail_clients.sh [OUT]          (default OUT: /tmp/mail-clients; run from the repository)
#
# Each client gets a fresh profile: Thunderbird blocks remote content by default, allowed with
# mailnews.message_display.disable_remote_image = false, and follows ui.systemUsesDarkTheme (its
# dark reader, on by default, stays on); Evolution starts once to create its local store, then
# shows the message from it, images by image-loading-policy, dark with GTK_THEME=Adwaita:dark.
# The images are served by `newsletter serve` on 127.0.0.1:8025, the example's base_url.
set -euo pipefail
repo=$(pwd)
out=${1:-/tmp/mail-clients}
[ -x "$repo/.venv/bin/newsletter" ] && export PATH="$repo/.venv/bin:$PATH"
for tool in Xvfb thunderbird evolution import xdotool dbus-run-session newsletter; do
    command -v $tool >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done
work=$(mktemp -d)
mkdir -p "$out"
cp -r "$repo/examples/nato" "$work/nato"
rm -rf "$work/nato/outbox" "$work"/nato/*.db* "$work/nato/email-images"
cp "$repo/subscribers.example.csv" "$work/nato/subscribers.csv"
sed -i 's#"../../subscribers.example.csv"#"subscribers.csv"#' "$work/nato/newsletter.toml"
(cd "$work" && newsletter send --config nato/newsletter.toml --as-of 2023-11-17 >/dev/null)
eml="$work/issue.eml"
cp "$(ls "$work"/nato/outbox/new/* | head -1)" "$eml"
(cd "$work" && exec newsletter serve --config nato/newsletter.toml >"$work/serve.log" 2>&1) &
serve=$!
xvfb=""
cleanup() {
    kill $serve 2>/dev/null || true
    [ -n "$xvfb" ] && kill $xvfb 2>/dev/null || true
}
trap cleanup EXIT
sleep 3

start_x() {
    export DISPLAY=:$((70 + RANDOM % 20))
    Xvfb $DISPLAY -screen 0 1100x5600x24 -nolisten tcp >/dev/null 2>&1 &
    xvfb=$!
    sleep 2
}

# The message window at 1000x5500 from the top left, so the whole email is in one PNG.
shoot() {  # window-name-pattern png
    local wid=""
    for _ in $(seq 1 60); do
        wid=$(xdotool search --onlyvisible --name "$1" 2>/dev/null | head -1) && [ -n "$wid" ] && break
        sleep 2
    done
    [ -n "$wid" ] || { echo "no window '$1' for $2" >&2; return 1; }
    xdotool windowmove "$wid" 0 0 windowsize "$wid" 1000 5500
    sleep 15
    import -window "$wid" "$2"
}

thunderbird_case() {  # name images dark
    local prof="$work/tb-$1"
    mkdir -p "$prof"
    cat >"$prof/user.js" <<EOT
user_pref("mail.shell.checkDefaultClient", false);
user_pref("mail.provider.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("mailnews.message_display.disable_remote_image", $([ "$2" = 1 ] && echo false || echo true));
user_pref("ui.systemUsesDarkTheme", $3);
user_pref("layout.css.prefers-color-scheme.content-override", $([ "$3" = 1 ] && echo 0 || echo 1));
EOT
    start_x
    thunderbird -profile "$prof" -no-remote "$eml" >"$work/tb-$1.log" 2>&1 &
    local tb=$!
    shoot "What's new at NATO" "$out/thunderbird-$1.png" || true
    kill $tb 2>/dev/null || true
    sleep 2
    kill -9 $tb 2>/dev/null || true
    kill $xvfb
    xvfb=""
}

evolution_case() {  # name images dark
    local home="$work/evo-$1" policy
    policy=$([ "$2" = 1 ] && echo always || echo never)
    mkdir -p "$home/.config/evolution/sources" "$home/run"
    chmod 700 "$home/run"
    # An account of type "none", so the first-run assistant does not open.
    printf '[Data Source]\nDisplayName=Reader\nEnabled=true\nParent=\n\n[Mail Account]\nBackendName=none\nIdentityUid=reader-identity\nNeedsInitialSetup=false\n' \
        >"$home/.config/evolution/sources/reader-account.source"
    printf '[Data Source]\nDisplayName=Reader\nEnabled=true\nParent=reader-account\n\n[Mail Identity]\nAddress=ada@example.org\nName=Ada Lovelace\n' \
        >"$home/.config/evolution/sources/reader-identity.source"
    (
        export HOME=$home XDG_CONFIG_HOME=$home/.config XDG_DATA_HOME=$home/.local/share
        export XDG_CACHE_HOME=$home/.cache XDG_RUNTIME_DIR=$home/run GSETTINGS_BACKEND=keyfile NO_AT_BRIDGE=1
        [ "$3" = 1 ] && export GTK_THEME=Adwaita:dark
        start_x
        dbus-run-session -- bash -c "evolution -c mail >/dev/null 2>&1 & sleep 15; evolution --force-shutdown >/dev/null 2>&1; sleep 3"
        # The first start migrates the deprecated load-http-images over the policy: set both.
        keyfile=$home/.config/glib-2.0/settings/keyfile
        sed -i "/^image-loading-policy=/d; /^load-http-images=/d" "$keyfile"
        grep -q '^\[org/gnome/evolution/mail\]$' "$keyfile" || printf '\n[org/gnome/evolution/mail]\n' >>"$keyfile"
        sed -i "s/^\[org\/gnome\/evolution\/mail\]$/&\nimage-loading-policy='$policy'\nload-http-images=$([ "$2" = 1 ] && echo 2 || echo 0)/" "$keyfile"
        cp "$eml" "$home/.local/share/evolution/mail/local/cur/1700000000.M1P1.reader:2,S"
        export -f shoot
        export out work
        # Inbox under "On This Computer", then the message opened in its own window.
        dbus-run-session -- bash -c "evolution -c mail >/dev/null 2>&1 & sleep 30
            xdotool mousemove 73 189 click 1; sleep 4
            xdotool mousemove 420 186 click --repeat 2 --delay 120 1
            shoot NATO '$out/evolution-$1.png' || true
            evolution --force-shutdown >/dev/null 2>&1; sleep 2"
        kill $xvfb
    )
}

for case in "blocked-light 0 0" "blocked-dark 0 1" "allowed-light 1 0" "allowed-dark 1 1"; do
    set -- $case
    thunderbird_case "$@"
    evolution_case "$@"
done
rm -rf "$work"
ls "$out"/*.png
