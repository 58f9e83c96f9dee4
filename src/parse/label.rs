//! Enums whose variants are label values: [`label_enum!`](crate::label_enum) declares the enum with its label
//! strings once and derives what every such enum needs, so nothing is counted by hand: the
//! number of variants (`COUNT`, the size of per-variant metric arrays), every variant in
//! label order (`ALL`), the label value (`as_str`), the position in `ALL` (`index`) and the
//! reverse lookup (`from_label`). The parsers decide which variant a line has; the metrics
//! index arrays by it.

/// Declares a fieldless enum whose variants carry label values:
///
/// ```
/// xmail_exporter::label_enum! {
///     /// Traffic lights.
///     pub enum Light: "colour" {
///         /// Stop.
///         Red => "red",
///         /// Go.
///         Green => "green",
///     }
/// }
/// assert_eq!(Light::COUNT, 2);
/// assert_eq!(Light::ALL, [Light::Red, Light::Green]);
/// assert_eq!(Light::Green.as_str(), "green");
/// assert_eq!(Light::Green.index(), 1);
/// assert_eq!(Light::from_label("red"), Some(Light::Red));
/// ```
#[macro_export]
macro_rules! label_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $label:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $value:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// How many variants there are.
            pub const COUNT: usize = [$(stringify!($variant)),+].len();

            /// Every variant, in label order.
            pub const ALL: [$name; $name::COUNT] = [$($name::$variant),+];

            #[doc = concat!("The value of the `", $label, "` label.")]
            #[inline]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $value),+
                }
            }

            #[doc = concat!("Index into arrays ordered like [`", stringify!($name), "::ALL`].")]
            #[inline]
            pub const fn index(self) -> usize {
                self as usize
            }

            #[doc = concat!("The variant whose `", $label, "` label value is `label`.")]
            pub fn from_label(label: &str) -> Option<$name> {
                $name::ALL.into_iter().find(|v| v.as_str() == label)
            }
        }
    };
}
