# bash completion for udp-over-tcp(1)                     -*- shell-script -*-
#
# Installed as .../bash-completion/completions/udp-over-tcp; it can also be
# read by hand:  . contrib/completion/udp-over-tcp.bash
#
# Completes the options, the names that --framing and --syslog-facility
# accept, "auto" for --udp-bind, and file names for the TLS files
# (--tls-cert, --tls-key, --tls-ca, --tls-client-ca).  Addresses, numbers,
# pins and names are left for the user to type.

_udp_over_tcp()
{
	local cur prev prefix="" word i
	local -a opts used

	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=""
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}

	# "--opt=value": bash splits it at "=" when "=" is in COMP_WORDBREAKS
	# (the default) into "--opt" "=" "value"; otherwise it is one word.
	if [[ $cur == "=" && $prev == --* ]]; then
		cur=""
	elif [[ $prev == "=" ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $cur == --*=* ]]; then
		prev=${cur%%=*}
		prefix="$prev="
		cur=${cur#*=}
	fi

	case $prev in
	--framing)
		COMPREPLY=($(compgen -P "$prefix" -W 'flow len32 len16' -- "$cur"))
		return 0
		;;
	--workers)
		COMPREPLY=($(compgen -P "$prefix" -W 'auto' -- "$cur"))
		return 0
		;;
	--syslog-facility)
		COMPREPLY=($(compgen -P "$prefix" -W 'daemon user local0 local1
		    local2 local3 local4 local5 local6 local7' -- "$cur"))
		return 0
		;;
	-u | --udp-bind)
		COMPREPLY=($(compgen -P "$prefix" -W 'auto' -- "$cur"))
		return 0
		;;
	--tls-cert | --tls-key | --tls-ca | --tls-client-ca)
		# A PEM file: names with blanks stay whole.
		[[ -z $prefix ]] && compopt -o filenames 2>/dev/null
		local IFS=$'\n'
		COMPREPLY=($(compgen -P "$prefix" -f -- "$cur"))
		return 0
		;;
	--tls-pin | --tls-name)
		# sha256:BASE64 from --print-pin; a server name.
		return 0
		;;
	-l | --tcp-listen | -t | --tcp-connect | -p | --udp-sendto | \
	    --queue-size | --backoff-min | --backoff-max | --keepalive | \
	    --udp-buffer | --tcp-buffer | --target-delay | --max-delay | \
	    --queue-memory | \
	    --flow-timeout | --max-flows | --max-peers | --allow | \
	    --drain-timeout)
		# An address or a number: nothing sensible to offer.
		return 0
		;;
	-h | --help | -V | --version)
		return 0
		;;
	esac
	[[ -n $prefix ]] && return 0

	opts=(--tcp-listen --tcp-connect --udp-bind --udp-sendto --framing
	    --queue-size --backoff-min --backoff-max --keepalive
	    --udp-buffer --tcp-buffer --target-delay --max-delay --queue-memory
	    --flow-timeout --max-flows --max-peers --workers --proxy-protocol
	    --drain-timeout --allow
	    --tls-cert --tls-key --tls-client-ca --tls --tls-ca --tls-pin
	    --tls-name --print-pin --syslog
	    --syslog-facility --verbose --debug --help --version)
	if [[ $cur != --* ]]; then
		opts+=(-l -t -u -p -v -h -V)
	fi

	# Leave out what the line already has: each option but --allow,
	# --tls-pin and --tcp-connect counts once, and a tunnel end either
	# listens or connects.
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		word=${word%%=*}
		case $word in
		-l | --tcp-listen)
			used+=(-l --tcp-listen -t --tcp-connect) ;;
		-t | --tcp-connect)	# more servers may follow
			used+=(-l --tcp-listen) ;;
		-u | --udp-bind) used+=(-u --udp-bind) ;;
		-p | --udp-sendto) used+=(-p --udp-sendto) ;;
		-v | --verbose) used+=(-v --verbose) ;;
		--allow | --tls-pin) ;;	# may be given more than once
		-h | --help | -V | --version) return 0 ;;
		--*) used+=("$word") ;;
		esac
	done
	if ((${#used[@]} > 0)); then
		local -a left=()
		local o u skip
		for o in "${opts[@]}"; do
			skip=0
			for u in "${used[@]}"; do
				[[ $o == "$u" ]] && skip=1 && break
			done
			((skip)) || left+=("$o")
		done
		opts=("${left[@]}")
	fi

	COMPREPLY=($(compgen -W "${opts[*]}" -- "$cur"))
	return 0
}
complete -F _udp_over_tcp udp-over-tcp
