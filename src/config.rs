//! The terminal's configuration: a TOML file (`/etc/tillcard/terminal.toml`
//! when installed, see `packaging/`), every key optional. With no file at all
//! the terminal runs its embedded demo in `./tillcard-data`: a local SQLite
//! store seeded with the demo program, members and clerks, no network and no
//! camera needed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::format::Language;

/// Everything the terminal reads at start-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TerminalConfig {
    /// Where the SQLite store, saved cards and receipts live.
    pub data_dir: PathBuf,
    /// Language at start (`zh-CN` or `en`); clerks switch at run time.
    pub language: LanguageSetting,
    /// Lock the till after this many seconds without a touch.
    pub auto_lock_secs: u64,
    /// Seed the demo program, members and clerks into an empty store.
    pub demo: bool,
    /// Play the scan beeps and the sale chime.
    pub sound: bool,
    /// Head office.
    pub head_office: HeadOfficeConfig,
    /// The camera.
    pub camera: CameraSettings,
    /// The receipt printer, if one is attached.
    pub printer: PrinterSettings,
    /// The customer-facing second display.
    pub customer_display: CustomerDisplaySettings,
    /// The labels the store's scales print on goods they weigh.
    pub scale_labels: ScaleLabelSettings,
    /// Where the sealed store key lives: outside the data directory, so a
    /// copy of the data directory is useless without this machine. Unset:
    /// `<data_dir>-keys` beside the data directory (`/var/lib/tillcard-keys`
    /// for the packaged `/var/lib/tillcard`).
    pub key_dir: Option<PathBuf>,
    /// How the store key is sealed: `"tpm2"` (the PC's TPM) or `"host"` (a
    /// host key file in `key_dir`, weaker: docs/THREAT-MODEL.md). Unset:
    /// `tpm2` when `/dev/tpmrm0` exists, else `host`.
    pub key_sealing: Option<crate::store_key::Sealing>,
}

/// Head office's address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HeadOfficeConfig {
    /// Base URL (`https://hq.example.com`); empty = offline only.
    pub url: String,
    /// The store this till belongs to (head office's store code), if the
    /// installer knows it: an enrollment code for another store is then
    /// refused at the first run instead of registering the till there.
    pub store: String,
    /// Days acknowledged events keep their bodies (`store::retention`);
    /// none = 30. Must cover head office's backup window; at least 1.
    pub outbox_retention_days: Option<u32>,
}

impl HeadOfficeConfig {
    /// The outbox retention this configuration asks for.
    pub fn outbox_retention(&self) -> std::time::Duration {
        match self.outbox_retention_days {
            Some(days) => std::time::Duration::from_secs(u64::from(days.max(1)) * 86_400),
            None => crate::store::retention::DEFAULT_OUTBOX_RETENTION,
        }
    }
}

/// Why a head-office address cannot be used. Everything the terminal and
/// head office say to each other (the enrollment code's answer with head
/// office's keys, signed batches, the downlink) must not cross a network
/// in the clear: an address off this machine must be `https`; plain
/// `http` stays possible only to a loopback host (127.0.0.0/8, ::1,
/// `localhost`), for tests and a head office on the same PC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressProblem {
    /// Not a URL at all.
    #[error("`{0}` is not a web address (write it as https://hq.example.com)")]
    NotAUrl(String),
    /// A scheme other than http or https.
    #[error("`{0}` is not an http(s) address (write it as https://hq.example.com)")]
    NotHttp(String),
    /// Plain http to another machine.
    #[error(
        "head office at {host} must be reached over https, not http: plain http lets anyone \
         on the network read and change what the terminal and head office exchange \
         (http is accepted only for this machine: 127.0.0.1, ::1, localhost)"
    )]
    PlainHttp {
        /// The host named.
        host: String,
    },
}

/// Whether `url` may be used as head office's address: https anywhere,
/// plain http only to a loopback host (see [`AddressProblem`]).
pub fn check_head_office_url(url: &str) -> Result<(), AddressProblem> {
    let url = url.trim();
    let parsed = reqwest::Url::parse(url).map_err(|_| AddressProblem::NotAUrl(url.to_owned()))?;
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| AddressProblem::NotAUrl(url.to_owned()))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(host) => Ok(()),
        "http" => Err(AddressProblem::PlainHttp {
            host: host.to_owned(),
        }),
        _ => Err(AddressProblem::NotHttp(url.to_owned())),
    }
}

/// 127.0.0.0/8, ::1 (and IPv4-mapped loopback), `localhost`; `host` as
/// a parsed URL writes it (IPv6 in brackets, names in lower case).
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(std::net::IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// Which camera, at which resolution, or a folder of images instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CameraSettings {
    /// `/dev/videoN` index; negative = no camera.
    pub device: i32,
    /// Requested frame width.
    pub width: u32,
    /// Requested frame height.
    pub height: u32,
    /// Scan images from this folder instead of a camera (demos, diagnosis).
    pub frames_dir: Option<PathBuf>,
}

impl Default for CameraSettings {
    fn default() -> Self {
        Self {
            device: 0,
            width: 640,
            height: 480,
            frames_dir: None,
        }
    }
}

/// The receipt printer (ESC/POS, issue 24): a USB printer class device or
/// a network printer's port 9100. Neither: no printer (receipts are saved
/// as files only). The sale never waits for the printer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrinterSettings {
    /// A USB printer class device (`/dev/usb/lp0`).
    pub device: Option<PathBuf>,
    /// A network printer's IP address and port (`192.168.1.50:9100`).
    pub address: Option<String>,
    /// The paper's width: `80mm` (the default) or `58mm`.
    pub paper: PaperWidth,
}

/// A receipt roll's width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PaperWidth {
    /// 80 mm (48 columns).
    #[default]
    #[serde(rename = "80mm")]
    Mm80,
    /// 58 mm (32 columns).
    #[serde(rename = "58mm")]
    Mm58,
}

/// Why the printer settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrinterSettingsError {
    /// Both a device and an address.
    #[error("printer: give either a device or an address, not both")]
    Both,
    /// An address that is not `IP:port`.
    #[error("printer: address {0:?} is not an IP address and port (192.168.1.50:9100)")]
    Address(String),
}

impl PrinterSettings {
    /// Where the printer is, if one is configured.
    pub fn transport(&self) -> Result<Option<tillcard_print::Transport>, PrinterSettingsError> {
        match (&self.device, &self.address) {
            (Some(_), Some(_)) => Err(PrinterSettingsError::Both),
            (Some(device), None) => Ok(Some(tillcard_print::Transport::UsbLp(device.clone()))),
            (None, Some(address)) => address
                .parse()
                .map(|a| Some(tillcard_print::Transport::Network(a)))
                .map_err(|_| PrinterSettingsError::Address(address.clone())),
            (None, None) => Ok(None),
        }
    }

    /// The layout's paper.
    pub fn paper(&self) -> tillcard_print::Paper {
        match self.paper {
            PaperWidth::Mm80 => tillcard_print::Paper::Mm80,
            PaperWidth::Mm58 => tillcard_print::Paper::Mm58,
        }
    }
}

/// The labels the store's scales print on fresh goods weighed in the back
/// room (`[scale_labels]`; `tillcard_rules::catalog::scale_label`): an
/// EAN-13 of `prefix`, the item's PLU (its SKU in the catalog) and the
/// weight in grams. Off unless a prefix is given; the demo reads prefix 2
/// with a 5-digit PLU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScaleLabelSettings {
    /// The labels' first digits: `"2"`, or `"20"` to `"29"`.
    pub prefix: Option<String>,
    /// Digits of the PLU after the prefix (4 to 6).
    pub plu_digits: usize,
}

impl Default for ScaleLabelSettings {
    fn default() -> Self {
        ScaleLabelSettings {
            prefix: None,
            plu_digits: 5,
        }
    }
}

impl ScaleLabelSettings {
    /// The format the scales print, if scale labels are read.
    pub fn format(
        &self,
    ) -> Result<
        Option<tillcard_rules::catalog::ScaleLabelFormat>,
        tillcard_rules::catalog::ScaleFormatError,
    > {
        self.prefix
            .as_deref()
            .map(|prefix| tillcard_rules::catalog::ScaleLabelFormat::new(prefix, self.plu_digits))
            .transpose()
    }
}

/// The customer-facing second display (issue 24): the basket, savings
/// and points, shown on a second screen facing the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CustomerDisplaySettings {
    /// When to open it (`auto`: when a second screen is attached).
    pub mode: CustomerDisplayMode,
    /// Where its window goes on the desktop, when the screens are not laid
    /// out left to right (unset: beside the first screen).
    pub x: Option<i32>,
    /// Its window's top edge (unset: 0).
    pub y: Option<i32>,
}

/// When the customer display opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomerDisplayMode {
    /// When a second screen is connected at start-up (the default).
    #[default]
    Auto,
    /// Always (with one screen: a window of its own).
    On,
    /// Never.
    Off,
}

/// A language as written in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LanguageSetting {
    /// Simplified Chinese.
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    /// English.
    #[serde(rename = "en")]
    En,
}

impl From<LanguageSetting> for Language {
    fn from(l: LanguageSetting) -> Language {
        match l {
            LanguageSetting::ZhCn => Language::ZhCn,
            LanguageSetting::En => Language::En,
        }
    }
}

impl Default for TerminalConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("tillcard-data"),
            language: LanguageSetting::ZhCn,
            auto_lock_secs: 120,
            demo: false,
            sound: true,
            head_office: HeadOfficeConfig::default(),
            camera: CameraSettings::default(),
            printer: PrinterSettings::default(),
            customer_display: CustomerDisplaySettings::default(),
            scale_labels: ScaleLabelSettings::default(),
            key_dir: None,
            key_sealing: None,
        }
    }
}

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this program.
    #[error("the configuration file {path} is not valid: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The parser's explanation (line and key).
        message: String,
    },
}

impl TerminalConfig {
    /// The embedded default: demo data in `./tillcard-data`.
    pub fn embedded_demo() -> TerminalConfig {
        TerminalConfig {
            demo: true,
            scale_labels: ScaleLabelSettings {
                prefix: Some("2".into()),
                plu_digits: 5,
            },
            ..TerminalConfig::default()
        }
    }

    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<TerminalConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses configuration text.
    pub fn parse(text: &str) -> Result<TerminalConfig, String> {
        let config: TerminalConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        if config.auto_lock_secs == 0 {
            return Err("auto_lock_secs must be at least 1".into());
        }
        if config.key_dir().starts_with(&config.data_dir) {
            return Err(format!(
                "key_dir ({}) must be outside data_dir ({}): the sealed store key must not travel \
                 with a copy of the data directory",
                config.key_dir().display(),
                config.data_dir.display()
            ));
        }
        if let Some(url) = config.head_office_url() {
            check_head_office_url(url).map_err(|problem| format!("head_office.url: {problem}"))?;
        }
        config
            .scale_labels
            .format()
            .map_err(|problem| format!("scale_labels: {problem}"))?;
        Ok(config)
    }

    /// The SQLite store file.
    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join("terminal.sqlite")
    }

    /// The key directory (see [`TerminalConfig::key_dir`]'s field).
    pub fn key_dir(&self) -> PathBuf {
        if let Some(dir) = &self.key_dir {
            return dir.clone();
        }
        let mut name = self
            .data_dir
            .file_name()
            .map(std::ffi::OsStr::to_os_string)
            .unwrap_or_else(|| "tillcard-data".into());
        name.push("-keys");
        self.data_dir.with_file_name(name)
    }

    /// The store key's vault: the configured (or detected) sealing in
    /// [`TerminalConfig::key_dir`].
    pub fn key_vault(&self) -> crate::store_key::KeyVault {
        crate::store_key::KeyVault::for_sealing(
            self.key_dir(),
            self.key_sealing
                .unwrap_or_else(crate::store_key::Sealing::detect),
        )
    }

    /// Where member cards are saved as PNG at enrollment.
    pub fn cards_dir(&self) -> PathBuf {
        self.data_dir.join("cards")
    }

    /// Where receipts are saved as text.
    pub fn receipts_dir(&self) -> PathBuf {
        self.data_dir.join("receipts")
    }

    /// Head office's URL, if configured.
    pub fn head_office_url(&self) -> Option<&str> {
        let url = self.head_office.url.trim();
        (!url.is_empty()).then_some(url)
    }

    /// The configured store code, if any.
    pub fn head_office_store(&self) -> Option<&str> {
        let store = self.head_office.store.trim();
        (!store.is_empty()).then_some(store)
    }

    /// Whether this till opens the first-run screen when it has no clerk:
    /// a real configuration (head office's address) and no demo.
    pub fn first_run_possible(&self) -> bool {
        !self.demo && self.head_office_url().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_the_packaged_layout_parses() {
        let config = TerminalConfig::parse(
            r#"
            data_dir = "/var/lib/tillcard"
            language = "en"
            auto_lock_secs = 90
            demo = false
            sound = false
            [head_office]
            url = "https://hq.example.com"
            [camera]
            device = -1
            width = 1280
            height = 720
            frames_dir = "/srv/frames"
            "#,
        )
        .unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/tillcard"));
        assert_eq!(config.language, LanguageSetting::En);
        assert_eq!(config.auto_lock_secs, 90);
        assert!(!config.sound);
        assert_eq!(config.head_office_url(), Some("https://hq.example.com"));
        assert_eq!(config.camera.device, -1);
        assert_eq!(config.camera.frames_dir, Some(PathBuf::from("/srv/frames")));
    }

    #[test]
    fn the_key_dir_sits_beside_the_data_dir_and_never_inside_it() {
        let demo = TerminalConfig::embedded_demo();
        assert_eq!(demo.key_dir(), PathBuf::from("tillcard-data-keys"));
        let packaged = TerminalConfig::parse("data_dir = \"/var/lib/tillcard\"").unwrap();
        assert_eq!(packaged.key_dir(), PathBuf::from("/var/lib/tillcard-keys"));
        let inside = TerminalConfig::parse(
            "data_dir = \"/var/lib/tillcard\"\nkey_dir = \"/var/lib/tillcard/keys\"",
        )
        .unwrap_err();
        assert!(inside.contains("must be outside data_dir"), "{inside}");
        let host =
            TerminalConfig::parse("key_sealing = \"host\"\nkey_dir = \"/etc/tillcard/keys\"")
                .unwrap();
        assert_eq!(host.key_sealing, Some(crate::store_key::Sealing::Host));
    }

    #[test]
    fn missing_keys_take_defaults_and_unknown_keys_are_refused() {
        let config = TerminalConfig::parse("").unwrap();
        assert_eq!(config, TerminalConfig::default());
        assert_eq!(config.head_office_url(), None);
        let err = TerminalConfig::parse("langauge = \"en\"").unwrap_err();
        assert!(err.contains("langauge"), "{err}");
        let err = TerminalConfig::parse("language = \"fr\"").unwrap_err();
        assert!(err.contains("language") || err.contains("fr"), "{err}");
        assert!(TerminalConfig::parse("auto_lock_secs = 0").is_err());
    }

    #[test]
    fn head_office_off_this_machine_must_be_https() {
        let allowed = [
            "https://hq.example.com",
            "https://10.0.0.5:8443",
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://localhost:3000",
            "http://LOCALHOST",
            "http://[::1]:8080",
            "http://[::ffff:127.0.0.1]",
        ];
        for url in allowed {
            assert_eq!(check_head_office_url(url), Ok(()), "{url}");
        }
        let refused = [
            ("http://hq.example.com", "hq.example.com"),
            ("http://10.0.0.5:8080", "10.0.0.5"),
            ("http://128.0.0.1", "128.0.0.1"),
            ("http://localhost.example.com", "localhost.example.com"),
            ("http://[2001:db8::1]", "[2001:db8::1]"),
            ("HTTP://HQ.EXAMPLE.COM/", "hq.example.com"),
        ];
        for (url, host) in refused {
            assert_eq!(
                check_head_office_url(url),
                Err(AddressProblem::PlainHttp { host: host.into() }),
                "{url}"
            );
        }
        assert!(matches!(
            check_head_office_url("ftp://hq.example.com"),
            Err(AddressProblem::NotHttp(_))
        ));
        assert!(matches!(
            check_head_office_url("hq.example.com"),
            Err(AddressProblem::NotAUrl(_))
        ));
        println!(
            "{} addresses accepted, {} plain-http ones refused",
            allowed.len(),
            refused.len()
        );
    }

    #[test]
    fn the_loader_refuses_plain_http_to_another_machine_with_the_reason() {
        let err =
            TerminalConfig::parse("[head_office]\nurl = \"http://hq.example.com\"\n").unwrap_err();
        assert!(err.contains("head_office.url"), "{err}");
        assert!(err.contains("https"), "{err}");
        let config =
            TerminalConfig::parse("[head_office]\nurl = \"http://127.0.0.1:9\"\n").unwrap();
        assert_eq!(config.head_office_url(), Some("http://127.0.0.1:9"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("terminal.toml");
        std::fs::write(&path, "[head_office]\nurl = \"http://192.168.1.20:8080\"\n").unwrap();
        let err = TerminalConfig::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("terminal.toml") && err.contains("over https"),
            "{err}"
        );
    }

    #[test]
    fn the_packaged_example_parses_with_its_customer_display_and_printer() {
        let text = include_str!("../packaging/terminal/terminal.toml");
        let config = TerminalConfig::parse(text).unwrap();
        assert_eq!(config.customer_display.mode, CustomerDisplayMode::Auto);
        assert_eq!(config.printer.paper, PaperWidth::Mm80);
        let off = TerminalConfig::parse("[customer_display]\nmode = \"off\"\n").unwrap();
        assert_eq!(off.customer_display.mode, CustomerDisplayMode::Off);
        assert!(TerminalConfig::parse("[customer_display]\nmode = \"maybe\"\n").is_err());
        assert_eq!(
            config.scale_labels.format(),
            Ok(None),
            "off unless a prefix is given"
        );
    }

    #[test]
    fn scale_labels_are_read_only_in_a_format_of_the_in_store_range() {
        let on =
            TerminalConfig::parse("[scale_labels]\nprefix = \"21\"\nplu_digits = 6\n").unwrap();
        let format = on.scale_labels.format().unwrap().unwrap();
        assert_eq!((format.prefix(), format.plu_digits()), ("21", 6));
        let wrong = TerminalConfig::parse("[scale_labels]\nprefix = \"69\"\n").unwrap_err();
        assert!(wrong.starts_with("scale_labels: the prefix"), "{wrong}");
        assert!(TerminalConfig::parse("[scale_labels]\nprefix = \"2\"\nplu_digits = 9\n").is_err());
        let demo = TerminalConfig::embedded_demo()
            .scale_labels
            .format()
            .unwrap();
        assert_eq!(demo.map(|f| f.weight_digits()), Some(6));
    }
}
