fn main() {
    std::process::exit(udpsh::run(std::env::args_os()));
}
