# Renders a BOSH job's templates the way the director does (bosh-template's
# EvaluationContext), so tests can render jobs without a director:
#   - only properties declared in the job spec are visible;
#   - manifest values win over spec defaults;
#   - ERB with trim mode '-';
#   - p() raises for a property with no value and no default, if_p() yields
#     only when every named property has a value;
#   - `spec` is an OpenStruct tree (spec.networks.<name>.ip/gateway/netmask).
#
# Usage:
#   ruby render.rb render JOB_DIR INPUT.yml OUT_DIR
#       INPUT: {properties: {...}, networks: {NAME: {ip:, gateway:, netmask:}}}
#       writes every template to OUT_DIR/<destination> (and the job's monit
#       file to OUT_DIR/monit); bin/* are made 0755.
#   ruby render.rb lint RELEASE_DIR
#       checks what `bosh create-release` does not and the director finds
#       only at deploy: every p()/if_p() in a template names a declared
#       property, and every property has a description, default and example
#       (plus a few names; the tests run the real `bosh create-release` too).
#   ruby render.rb job-properties OPS_FILE JOB_NAME
#       prints (as JSON) the properties an ops file gives JOB_NAME.
require 'erb'
require 'json'
require 'ostruct'
require 'yaml'
require 'fileutils'

class UnknownProperty < StandardError
  def initialize(names)
    super("Can't find property '#{names.join("', or '")}'")
  end
end

# Dotted lookup ("a.b.c") in nested hashes; nil when absent.
def lookup(hash, name)
  name.split('.').reduce(hash) { |h, key| h.is_a?(Hash) ? h[key] : nil }
end

def set_nested(hash, name, value)
  *parents, last = name.split('.')
  parents.reduce(hash) { |h, key| h[key] ||= {} }[last] = value
end

def openstruct(object)
  case object
  when Hash then OpenStruct.new(object.to_h { |k, v| [k, openstruct(v)] })
  when Array then object.map { |item| openstruct(item) }
  else object
  end
end

class ActiveElseBlock
  def initialize(context)
    @context = context
  end

  def else
    yield
  end
end

class InactiveElseBlock
  def else; end
end

class EvaluationContext
  attr_reader :spec

  def initialize(properties, spec)
    @properties = properties
    @spec = openstruct(spec.merge('properties' => properties))
  end

  def p(*args)
    names = Array(args[0])
    names.each do |name|
      value = lookup(@properties, name)
      return value unless value.nil?
    end
    return args[1] if args.length == 2

    raise UnknownProperty, names
  end

  def if_p(*names)
    values = names.map do |name|
      value = lookup(@properties, name)
      return ActiveElseBlock.new(self) if value.nil?

      value
    end
    yield(*values)
    InactiveElseBlock.new
  end

  def get_binding
    binding
  end
end

# Only declared properties, each from the manifest or else its default.
def job_properties(job_spec, manifest_properties)
  properties = {}
  (job_spec['properties'] || {}).each do |name, definition|
    value = lookup(manifest_properties, name)
    value = Marshal.load(Marshal.dump((definition || {})['default'])) if value.nil?
    set_nested(properties, name, value)
  end
  properties
end

def render(job_dir, input_path, out_dir)
  job_spec = YAML.load_file(File.join(job_dir, 'spec'))
  input = YAML.load_file(input_path) || {}
  properties = job_properties(job_spec, input['properties'] || {})
  instance = {
    'name' => input['name'] || 'haproxy',
    'index' => input['index'] || 0,
    'id' => input['id'] || '6f2a1b8c-0000-4000-8000-000000000000',
    'az' => input['az'] || 'z1',
    'bootstrap' => true,
    'deployment' => input['deployment'] || 'haproxy',
    'networks' => input['networks'] || {},
  }
  # The director renders the job's `monit` file with the same context.
  sources = job_spec['templates'].map { |source, destination| [File.join('templates', source), destination] }
  sources << %w[monit monit] if File.file?(File.join(job_dir, 'monit'))
  sources.each do |source, destination|
    template = File.read(File.join(job_dir, source))
    context = EvaluationContext.new(properties, instance)
    text = ERB.new(template, trim_mode: '-').result(context.get_binding)
    path = File.join(out_dir, destination)
    FileUtils.mkdir_p(File.dirname(path))
    File.write(path, text)
    File.chmod(destination.start_with?('bin/') ? 0o755 : 0o644, path)
  end
end

def lint(release_dir)
  errors = []
  packages = Dir.children(File.join(release_dir, 'packages')).sort
  packages.each do |name|
    dir = File.join(release_dir, 'packages', name)
    spec = YAML.load_file(File.join(dir, 'spec'))
    errors << "package #{name}: spec names it '#{spec['name']}'" unless spec['name'] == name
    errors << "package #{name}: no packaging script" unless File.file?(File.join(dir, 'packaging'))
  end
  Dir.children(File.join(release_dir, 'jobs')).sort.each do |name|
    dir = File.join(release_dir, 'jobs', name)
    spec = YAML.load_file(File.join(dir, 'spec'))
    declared = (spec['properties'] || {}).keys
    errors << "job #{name}: spec names it '#{spec['name']}'" unless spec['name'] == name
    errors << "job #{name}: no monit file" unless File.file?(File.join(dir, 'monit'))
    (spec['packages'] || []).each do |package|
      errors << "job #{name}: package '#{package}' does not exist" unless packages.include?(package)
    end
    declared.each do |property|
      definition = spec['properties'][property] || {}
      %w[description default example].each do |key|
        errors << "job #{name}: property #{property} has no #{key}" unless definition.key?(key)
      end
    end
    sources = (spec['templates'] || {}).keys.map { |source| File.join('templates', source) } + ['monit']
    sources.each do |source|
      path = File.join(dir, source)
      unless File.file?(path)
        errors << "job #{name}: #{source} does not exist"
        next
      end
      File.read(path).scan(/\b(?:if_)?p\(([^)]*)\)/).flatten.each do |args|
        args.scan(/['"]([^'"]+)['"]/).flatten.each do |property|
          errors << "job #{name}: #{source} uses undeclared property '#{property}'" unless declared.include?(property)
        end
      end
    end
  end
  errors
end

def ops_job_properties(ops_path, job_name)
  ops = YAML.load_file(ops_path)
  op = ops.find { |o| o['path'].to_s.include?("/jobs/name=#{job_name}") }
  raise "#{ops_path}: no operation adds job #{job_name}" unless op

  op['value']['properties'] || {}
end

case ARGV[0]
when 'render'
  render(ARGV[1], ARGV[2], ARGV[3])
when 'lint'
  errors = lint(ARGV[1])
  errors.each { |e| warn e }
  exit(errors.empty? ? 0 : 1)
when 'job-properties'
  puts JSON.generate(ops_job_properties(ARGV[1], ARGV[2]))
else
  warn 'usage: render.rb render JOB_DIR INPUT.yml OUT_DIR | lint RELEASE_DIR | job-properties OPS_FILE JOB'
  exit 64
end
