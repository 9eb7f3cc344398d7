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
        Ok(config)
    }

    /// The SQLite store file.
    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join("terminal.sqlite")
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
}
