//! munin.conf's contacts (`contact.NAME.KEY value`) as munin-limits reads
//! them: who is told, with which text, and when.
//!
//! - `command`: what is run; a contact without one is never told.
//! - `text`: the message template; else `contact.default.text`; else
//!   Munin's stock text for the contact's name (`nagios`, `old-nagios`)
//!   or the general one.
//! - `always_send`: states (`critical warning unknown ok`, commas or
//!   spaces) that are told every run, not only on a change. The contact
//!   called `nagios` has `critical warning` unless it says otherwise.
//! - `max_messages`: messages one run of the command gets before a new
//!   one is started (0, the default: no limit).
//!
//! Which contacts hear of a service is its `contacts` setting, looked up
//! from the service through its host and groups to the global part; with
//! none anywhere, every contact that has a command. `none` (and `no`)
//! names nobody.

use crate::master::conf::MasterConf;
use crate::threshold::Status;

/// One contact.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contact {
    pub name: String,
    pub command: Option<String>,
    pub text: Option<String>,
    pub always_send: Option<String>,
    pub max_messages: usize,
}

/// Every contact, in the order munin.conf first names them.
pub fn read(conf: &MasterConf) -> Vec<Contact> {
    let mut out: Vec<Contact> = Vec::new();
    for (key, value) in &conf.contacts {
        let Some((name, what)) = key
            .strip_prefix("contact.")
            .and_then(|k| k.rsplit_once('.'))
        else {
            continue;
        };
        let i = match out.iter().position(|c| c.name == name) {
            Some(i) => i,
            None => {
                out.push(Contact {
                    name: name.to_string(),
                    ..Contact::default()
                });
                out.len() - 1
            }
        };
        let c = &mut out[i];
        match what {
            "command" => c.command = Some(value.clone()),
            "text" => c.text = Some(value.clone()),
            "always_send" => c.always_send = Some(value.clone()),
            // munin-limits compares it as a number: junk is 0, no limit.
            "max_messages" => c.max_messages = super::range::perl_number(value).max(0.0) as usize,
            _ => {}
        }
    }
    if let Some(n) = out.iter_mut().find(|c| c.name == "nagios")
        && n.always_send.is_none()
    {
        n.always_send = Some("critical warning".into());
    }
    out
}

/// The `contacts` of the global part when munin.conf sets none: every
/// contact with a command.
pub fn everyone(contacts: &[Contact]) -> String {
    contacts
        .iter()
        .filter(|c| c.command.as_deref().is_some_and(|c| !c.is_empty()))
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The template `contact` is told with.
pub fn text_for(contacts: &[Contact], contact: &Contact) -> String {
    if let Some(t) = &contact.text {
        return t.clone();
    }
    if let Some(t) = contacts
        .iter()
        .find(|c| c.name == "default")
        .and_then(|c| c.text.clone())
    {
        return t;
    }
    stock_text(&contact.name)
}

/// The states `always_send` lists (unknown words dropped, as Munin drops
/// them).
pub fn severities(list: &str) -> Vec<Status> {
    let mut out = Vec::new();
    for word in list
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        let s = match word.to_ascii_lowercase().as_str() {
            "ok" => Status::Ok,
            "warning" => Status::Warning,
            "critical" => Status::Critical,
            "unknown" => Status::Unknown,
            _ => continue,
        };
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Munin's stock message for a contact called `name`. The three texts
/// differ only in their head and in how the lists of fields are led in.
pub fn stock_text(name: &str) -> String {
    let lists = |lead: &str| {
        let mut s = String::new();
        for (list, word, range) in [
            ("cfields", "CRITICAL", Some("crange")),
            ("wfields", "WARNING", Some("wrange")),
            ("ufields", "UNKNOWN", None),
            ("fofields", "OK", None),
        ] {
            let outside = range
                .map(|r| format!(" (outside range [${{var:{r}}}])"))
                .unwrap_or_default();
            s.push_str(&format!(
                "${{if:{list} {lead}{word}s:${{loop<,>:{list}  ${{var:label}} is ${{var:value}}{outside}${{if:extinfo : ${{var:extinfo}}}}}}.}}"
            ));
        }
        s
    };
    match name {
        "nagios" => format!(
            "${{var:host}}\\t${{var:graph_title}}\\t${{var:worstid}}\\t${{strtrunc:350 {}}}",
            lists("")
        ),
        "old-nagios" => format!(
            "${{var:host}}\\t${{var:plugin}}\\t${{var:worstid}}\\t${{strtrunc:350 ${{var:graph_title}}:{}}}",
            lists("")
        ),
        _ => format!(
            "${{var:group}} :: ${{var:host}} :: ${{var:graph_title}}{}\\n",
            lists("\\n\\t")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_in_order_with_their_keys() {
        let conf = MasterConf {
            contacts: [
                ("contact.me.command", "mail root"),
                ("contact.nagios.command", "send_nsca"),
                ("contact.me.max_messages", "3"),
                ("contact.quiet.text", "x"),
                ("contact.me.always_send", "Critical,warning junk"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .to_vec(),
            ..MasterConf::default()
        };
        let c = read(&conf);
        assert_eq!(
            c.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["me", "nagios", "quiet"]
        );
        assert_eq!(c[0].max_messages, 3);
        assert_eq!(
            severities(c[0].always_send.as_deref().unwrap()),
            [Status::Critical, Status::Warning]
        );
        assert_eq!(c[1].always_send.as_deref(), Some("critical warning"));
        assert_eq!(everyone(&c), "me nagios");
        assert_eq!(text_for(&c, &c[2]), "x");
        assert!(text_for(&c, &c[1]).starts_with("${var:host}\\t${var:graph_title}\\t"));
    }

    #[test]
    fn the_stock_text_reads_as_munins() {
        let t = stock_text("me");
        assert!(t.starts_with(
            "${var:group} :: ${var:host} :: ${var:graph_title}${if:cfields \\n\\tCRITICALs:${loop<,>:cfields  ${var:label} is ${var:value} (outside range [${var:crange}])${if:extinfo : ${var:extinfo}}}.}"
        ));
        assert!(t.ends_with("${if:fofields \\n\\tOKs:${loop<,>:fofields  ${var:label} is ${var:value}${if:extinfo : ${var:extinfo}}}.}\\n"));
    }
}
